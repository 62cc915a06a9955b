package dev.flyer.profile;

import java.util.List;

/**
 * The complete events of a Chrome trace, in file order, plus its other metadata.
 *
 * @param spans every {@code ph:"X"} event
 * @param laneNames {@code pid:tid} to the {@code thread_name} metadata, where given
 * @param otherEvents how many events of other phases were skipped
 */
public record Trace(List<Span> spans, java.util.Map<String, String> laneNames, long otherEvents) {}
