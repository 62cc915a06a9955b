package dev.flyer.profile;

import dev.flyer.profile.internal.Intervals;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Computation/communication overlap of a trace: which device (or worker) events are
 * communication, how much of that time compute hides, what is exposed, and where the time goes.
 *
 * <p>Contract: device events are the spans whose category is in {@link Options#deviceCategories()}
 * ({@code kernel}, {@code gpu_memcpy}, {@code gpu_memset} in PyTorch traces; {@code compute} and
 * {@code comm} in Flyer's); of those, communication is every event whose name matches
 * {@link Options#commPattern()} and compute is the rest. Busy times are unions of intervals, so
 * concurrent kernels on several streams count once. A device event is attributed to the innermost
 * annotation span (category in {@link Options#annotationCategories()}) on the same process that
 * contains the CPU launch with its correlation id, or, without one, that contains the event's own
 * start. Throws {@link IllegalArgumentException} when the trace has no device events.
 *
 * <p>Implementation notes: the idea follows DeepSeek's reading of their published traces
 * (deepseek-ai/profile-data README: communication kernels of DeepEP, {@code dpsk::ep::}, on their
 * own stream, overlapped with the other micro-batch's compute); the figures are Flyer's own.
 */
public final class OverlapAnalysis {
    /** DeepSeek's communication kernels (DeepEP) and NCCL. */
    public static final String PYTORCH_COMM_PATTERN = "dpsk::ep::|nccl";
    /** Flyer's communication work names. */
    public static final String FLYER_COMM_PATTERN = "dispatch|combine|send|recv";

    /** What counts as what; {@code commPattern == null} picks the default for the trace's kind. */
    public record Options(String commPattern, Set<String> deviceCategories, Set<String> annotationCategories,
                          Set<String> launchCategories) {
        public static Options defaults() {
            return new Options(null, Set.of("kernel", "gpu_memcpy", "gpu_memset", "compute", "comm"),
                    Set.of("user_annotation", "annotation"), Set.of("cuda_runtime", "cuda_driver"));
        }

        public Options withCommPattern(String pattern) {
            return new Options(pattern, deviceCategories, annotationCategories, launchCategories);
        }
    }

    private OverlapAnalysis() {}

    public static OverlapReport analyze(Trace trace, Options options) {
        List<Span> device = new ArrayList<>();
        List<Span> annotations = new ArrayList<>();
        Map<Long, Span> launches = new HashMap<>();
        boolean pytorch = false;
        for (Span s : trace.spans()) {
            if (options.deviceCategories().contains(s.category())) {
                device.add(s);
                pytorch |= s.category().equals("kernel");
            } else if (options.annotationCategories().contains(s.category())) {
                annotations.add(s);
            } else if (options.launchCategories().contains(s.category()) && s.correlation() >= 0) {
                launches.put(s.correlation(), s);
            }
        }
        if (device.isEmpty()) {
            throw new IllegalArgumentException("trace has no device or worker events (categories "
                    + options.deviceCategories() + "); nothing to analyse");
        }
        String patternText = options.commPattern() != null ? options.commPattern()
                : pytorch ? PYTORCH_COMM_PATTERN : FLYER_COMM_PATTERN;
        Pattern comm = Pattern.compile(patternText);
        boolean[] isComm = new boolean[device.size()];
        for (int i = 0; i < isComm.length; i++) {
            isComm[i] = comm.matcher(device.get(i).name()).find();
        }
        Intervals compute = union(device, isComm, false);
        Intervals communication = union(device, isComm, true);
        Intervals all = union(device, null, false);
        double windowStart = Double.POSITIVE_INFINITY;
        double windowEnd = Double.NEGATIVE_INFINITY;
        for (Span s : device) {
            windowStart = Math.min(windowStart, s.startUs());
            windowEnd = Math.max(windowEnd, s.endUs());
        }
        double window = windowEnd - windowStart;
        double overlap = compute.intersectionLength(communication);
        double commLength = communication.length();
        return new OverlapReport(window / 1e3, compute.length() / 1e3, commLength / 1e3, overlap / 1e3,
                (commLength - overlap) / 1e3, (window - all.length()) / 1e3, commLength == 0 ? 0 : overlap / commLength,
                byAnnotation(device, isComm, annotations, launches), byLane(device, isComm, trace.laneNames()),
                patternText);
    }

    private static Intervals union(List<Span> spans, boolean[] isComm, boolean wantComm) {
        double[] starts = new double[spans.size()];
        double[] ends = new double[spans.size()];
        int n = 0;
        for (int i = 0; i < spans.size(); i++) {
            if (isComm == null || isComm[i] == wantComm) {
                starts[n] = spans.get(i).startUs();
                ends[n] = spans.get(i).endUs();
                n++;
            }
        }
        return Intervals.union(starts, ends, n);
    }

    private static List<OverlapReport.AnnotationTime> byAnnotation(List<Span> device, boolean[] isComm,
                                                                   List<Span> annotations, Map<Long, Span> launches) {
        annotations.sort(Comparator.comparingDouble(Span::startUs));
        Map<String, double[]> totals = new LinkedHashMap<>();
        for (int i = 0; i < device.size(); i++) {
            Span k = device.get(i);
            Span launch = k.correlation() >= 0 ? launches.get(k.correlation()) : null;
            double at = launch != null ? launch.startUs() : k.startUs();
            String pid = launch != null ? launch.pid() : null;
            Span owner = innermost(annotations, at, pid);
            double[] t = totals.computeIfAbsent(owner == null ? "(none)" : owner.name(), name -> new double[3]);
            t[0]++;
            t[isComm[i] ? 2 : 1] += k.durationUs();
        }
        List<OverlapReport.AnnotationTime> out = new ArrayList<>();
        totals.forEach((name, t) -> out.add(new OverlapReport.AnnotationTime(name, (int) t[0], t[1] / 1e3, t[2] / 1e3)));
        out.sort(Comparator.comparingDouble((OverlapReport.AnnotationTime a) -> -(a.computeMs() + a.commMs()))
                .thenComparing(OverlapReport.AnnotationTime::name));
        return out;
    }

    /** The shortest annotation containing {@code at} (on {@code pid} when given); annotations sorted by start. */
    private static Span innermost(List<Span> annotations, double at, String pid) {
        Span best = null;
        for (Span a : annotations) {
            if (a.startUs() > at) {
                break;
            }
            if (at < a.endUs() && (pid == null || pid.equals(a.pid()))
                    && (best == null || a.durationUs() < best.durationUs())) {
                best = a;
            }
        }
        return best;
    }

    private static List<OverlapReport.LaneTime> byLane(List<Span> device, boolean[] isComm, Map<String, String> names) {
        Map<String, List<Integer>> lanes = new LinkedHashMap<>();
        for (int i = 0; i < device.size(); i++) {
            lanes.computeIfAbsent(device.get(i).lane(), lane -> new ArrayList<>()).add(i);
        }
        List<OverlapReport.LaneTime> out = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> lane : lanes.entrySet()) {
            List<Span> spans = new ArrayList<>();
            boolean[] comm = new boolean[lane.getValue().size()];
            for (int k = 0; k < comm.length; k++) {
                int i = lane.getValue().get(k);
                spans.add(device.get(i));
                comm[k] = isComm[i];
            }
            out.add(new OverlapReport.LaneTime(lane.getKey(), names.getOrDefault(lane.getKey(), ""), spans.size(),
                    union(spans, comm, false).length() / 1e3, union(spans, comm, true).length() / 1e3,
                    union(spans, null, false).length() / 1e3));
        }
        out.sort(Comparator.comparing(OverlapReport.LaneTime::lane, OverlapAnalysis::naturalOrder));
        return out;
    }

    private static int naturalOrder(String a, String b) {
        String[] x = a.split(":");
        String[] y = b.split(":");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            int c = x[i].matches("-?\\d+") && y[i].matches("-?\\d+")
                    ? Long.compare(Long.parseLong(x[i]), Long.parseLong(y[i])) : x[i].compareTo(y[i]);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.length, y.length);
    }
}
