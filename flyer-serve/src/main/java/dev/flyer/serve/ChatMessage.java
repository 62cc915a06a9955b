package dev.flyer.serve;

/** One message of a chat ({@code role}: system, user, assistant or tool). */
public record ChatMessage(String role, String content) {
    public ChatMessage {
        if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("message role must not be empty");
        }
    }
}
