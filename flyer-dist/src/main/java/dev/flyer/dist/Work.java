package dev.flyer.dist;

/** A posted point-to-point operation. */
public interface Work {
    /**
     * Waits until the operation completed.
     *
     * @throws DistException naming the peer when it failed or did not complete within the group's timeout
     */
    void await();

    boolean isDone();
}
