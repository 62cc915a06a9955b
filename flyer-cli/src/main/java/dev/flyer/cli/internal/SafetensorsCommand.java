package dev.flyer.cli.internal;

import dev.flyer.core.safetensors.SafeTensors;
import dev.flyer.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flyer safetensors PATH}: lists a checkpoint's tensors (name, dtype, shape, bytes). */
@Command(name = "safetensors", mixinStandardHelpOptions = true,
        description = "List the tensors of a .safetensors file, an index json, or a checkpoint folder.")
public final class SafetensorsCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", description = "File, model.safetensors.index.json, or folder.")
    Path path;

    @Option(names = "--values", description = "Also print a summary of each tensor's values.")
    boolean values;

    @Override
    public Integer call() throws Exception {
        try (SafeTensors st = SafeTensors.open(path)) {
            int nameWidth = st.names().stream().mapToInt(String::length).max().orElse(4);
            long total = 0;
            for (var e : st.tensors().entrySet()) {
                Tensor t = e.getValue();
                total += t.byteSize();
                System.out.printf("%-" + nameWidth + "s  %-7s  %-16s  %,d B%n", e.getKey(), t.dtype(),
                        Arrays.toString(t.shape()), t.byteSize());
                if (values) {
                    System.out.println("    " + t);
                }
            }
            System.out.printf("%d tensors, %,d bytes%s%n", st.names().size(), total,
                    st.metadata().isEmpty() ? "" : ", metadata " + st.metadata());
        }
        return 0;
    }
}
