package dev.flyer.serve;

/**
 * An R1-style answer split into its {@code <think>…</think>} part ({@code reasoning_content})
 * and the rest ({@code content}). The opening tag may be absent (R1's chat template puts it in
 * the prompt); without a closing tag everything so far is reasoning if it began with the tag,
 * otherwise plain content.
 */
public record Reasoning(String reasoning, String content) {
    private static final String OPEN = "<think>";
    private static final String CLOSE = "</think>";

    public static Reasoning split(String text) {
        String t = text.stripLeading();
        boolean opened = t.startsWith(OPEN);
        if (opened) {
            t = t.substring(OPEN.length());
        }
        int close = t.indexOf(CLOSE);
        if (close < 0) {
            return opened ? new Reasoning(t.strip(), "") : new Reasoning(null, text);
        }
        return new Reasoning(t.substring(0, close).strip(), t.substring(close + CLOSE.length()).stripLeading());
    }
}
