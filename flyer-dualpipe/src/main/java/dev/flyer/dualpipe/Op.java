package dev.flyer.dualpipe;

/**
 * One compute operation of a pipeline schedule, in the notation of DualPipe's program:
 * {@code F0}/{@code F1} (forward of phase 0 or 1), {@code B0}/{@code B1} (full backward),
 * {@code B0z}/{@code B1z} (backward of inputs only, weight gradients deferred to a later
 * {@code W}), {@code W} (one deferred weight-gradient group, first in first out), and
 * {@code F0&B1}/{@code F1&B0} (a forward chunk overlapped with a backward chunk).
 *
 * <p>Phases are the program's arguments: for the second half of DualPipe's ranks phase 0 is the
 * reverse direction (as in the original); single-direction schedules (1F1B, ZB1P) use phase 0.
 *
 * @param kind what runs
 * @param phase phase of the forward ({@code F}, {@code FB}) or backward ({@code B}) part
 * @param backwardPhase phase of the backward part of {@code FB}; -1 otherwise
 * @param zeroBubble for {@code B}: weight gradients are deferred to a {@code W}
 */
public record Op(Kind kind, int phase, int backwardPhase, boolean zeroBubble) {
    /** The kinds of operation. */
    public enum Kind { F, B, W, FB }

    public static Op forward(int phase) {
        return new Op(Kind.F, phase, -1, false);
    }

    public static Op backward(int phase, boolean zeroBubble) {
        return new Op(Kind.B, phase, -1, zeroBubble);
    }

    public static Op weight() {
        return new Op(Kind.W, -1, -1, false);
    }

    public static Op forwardBackward(int forwardPhase, int backwardPhase) {
        return new Op(Kind.FB, forwardPhase, backwardPhase, false);
    }

    /** Parses the notation ({@code "F0"}, {@code "B1z"}, {@code "W"}, {@code "F1&B0"}). */
    public static Op parse(String text) {
        return switch (text) {
            case "W" -> weight();
            case "F0", "F1" -> forward(text.charAt(1) - '0');
            case "B0", "B1" -> backward(text.charAt(1) - '0', false);
            case "B0z", "B1z" -> backward(text.charAt(1) - '0', true);
            case "F0&B1", "F1&B0", "F0&B0", "F1&B1" -> forwardBackward(text.charAt(1) - '0', text.charAt(4) - '0');
            default -> throw new IllegalArgumentException("not an op: \"" + text + "\"");
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case F -> "F" + phase;
            case B -> "B" + phase + (zeroBubble ? "z" : "");
            case W -> "W";
            case FB -> "F" + phase + "&B" + backwardPhase;
        };
    }
}
