package dev.flyer.dualpipe.internal;

/**
 * The primitive steps DualPipe's program is written in, named after the original's methods
 * ({@code _forward_chunk}, {@code _backward_chunk}, ...). A schedule recorder implements them by
 * noting the compute operation; the trainer implements them by computing and communicating.
 */
public interface PipelineSteps {
    /** {@code _forward_chunk(phase, recv, send)}. */
    void forwardChunk(int phase, boolean recv, boolean send);

    /** {@code _backward_chunk(phase, enable_zb, recv, send)}. */
    void backwardChunk(int phase, boolean zeroBubble, boolean recv, boolean send);

    /** {@code _forward_backward_chunk(phase0, phase1, recv0)}. */
    void forwardBackwardChunk(int forwardPhase, int backwardPhase, boolean recvForward);

    /** {@code _weight_chunk()}: the oldest deferred weight-gradient group. */
    void weightChunk();

    /** {@code _recv_forward(phase)}: post the receive of the next forward input. */
    void recvForward(int phase);

    /** {@code _send_forward(phase)}: post the send of the oldest unsent forward output. */
    void sendForward(int phase);

    /** {@code _send_backward(phase)}: post the send of the oldest unsent input gradient. */
    void sendBackward(int phase);
}
