package dev.flyer.dualpipe;

/**
 * Durations the simulator uses (any unit): {@code forward} a forward chunk, {@code backward} a
 * full backward chunk (inputs and weights), {@code weight} its weight-gradient part (a {@code Bz}
 * takes {@code backward - weight}), {@code forwardBackward} an overlapped forward-and-backward
 * pair, {@code p2pLatency} the delay of a transfer between ranks.
 */
public record Costs(double forward, double backward, double weight, double forwardBackward, double p2pLatency) {
    public Costs {
        if (forward < 0 || backward < 0 || weight < 0 || forwardBackward < 0 || p2pLatency < 0 || weight > backward) {
            throw new IllegalArgumentException("costs must be >= 0 with W <= B, got F=" + forward + " B=" + backward
                    + " W=" + weight + " F&B=" + forwardBackward + " latency=" + p2pLatency);
        }
    }

    /** The README's example: F=1, B=2, W=1, F&B=3, no latency. */
    public static Costs readme() {
        return new Costs(1, 2, 1, 3, 0);
    }

    /** Parses {@code "F,B,W,FB"} or {@code "F,B,W,FB,latency"}. */
    public static Costs parse(String text) {
        String[] parts = text.split(",");
        if (parts.length != 4 && parts.length != 5) {
            throw new IllegalArgumentException("costs must be F,B,W,FB[,latency], got \"" + text + "\"");
        }
        double[] v = new double[5];
        for (int i = 0; i < parts.length; i++) {
            try {
                v[i] = Double.parseDouble(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("cost \"" + parts[i] + "\" in \"" + text + "\" is not a number");
            }
        }
        return new Costs(v[0], v[1], v[2], v[3], v[4]);
    }
}
