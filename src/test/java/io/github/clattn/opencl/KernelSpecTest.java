package io.github.clattn.opencl;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.TestDevices;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * One statement of each fact: the kernel files' {@code #ifndef} defaults are the specs' defaults,
 * host-only parameters never reach the compiler (so they never change a program's cache key), and
 * the layout constants come only from the host.
 */
class KernelSpecTest {
    private static final Pattern DEFAULT = Pattern.compile("#ifndef (\\w+)\\s*\\n\\s*#define \\1 (\\d+)");

    private static Map<String, Integer> fileDefaults(String file) {
        Map<String, Integer> found = new HashMap<>();
        Matcher m = DEFAULT.matcher(ClContext.source(file));
        while (m.find()) {
            found.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return found;
    }

    @Test
    void kernelFileDefaultsAreTheSpecDefaults() {
        for (KernelVariant v : KernelVariant.values()) {
            for (KernelSpec spec : v.specs()) {
                Map<String, Integer> inFile = fileDefaults(spec.file());
                for (KernelSpec.Param p : spec.params()) {
                    if (p.compiled()) {
                        assertThat(inFile).as(spec.file() + " #ifndef " + p.name()).containsEntry(p.name(), p.value());
                    } else {
                        assertThat(inFile).as(spec.file() + " must not define host-only " + p.name())
                                .doesNotContainKey(p.name());
                    }
                }
                List<String> ofFile = v.specs().stream().filter(s -> s.file().equals(spec.file()))
                        .flatMap(s -> s.params().stream()).map(KernelSpec.Param::name).toList();
                assertThat(inFile.keySet()).as(spec.file() + " defines only the parameters of its specs")
                        .allSatisfy(name -> assertThat(ofFile).contains(name));
            }
        }
    }

    @Test
    void hostOnlyParametersStayOutOfTheBuildOptions() {
        KernelParams base = KernelParams.defaults(KernelVariant.CPU);
        KernelParams other = base.with("FLASH_WI_PER_CU", 7);
        assertThat(base.defines()).doesNotContain("FLASH_WI_PER_CU").contains("-DFLASH_QR=8");
        assertThat(other.defines()).isEqualTo(base.defines());
        ClContext context = ClContext.acquire(TestDevices.openCl());
        try {
            FusedLayout layout = new FusedLayout(8, 2, 2, 4, 32, 32);
            List<String> files = KernelVariant.CPU.files();
            String options = "-cl-std=CL1.2 " + layout.defines() + " ";
            assertThat(context.binaryKey(files, options + other.defines()))
                    .isEqualTo(context.binaryKey(files, options + base.defines()));
        } finally {
            context.release();
        }
    }

    @Test
    void layoutConstantsComeOnlyFromTheHost() {
        for (String file : List.of("layout.cl", "gemm_cpu.cl", "gemm_gpu.cl", "flash_cpu.cl", "flash_gpu.cl")) {
            String text = ClContext.source(file);
            for (String name : List.of("DK", "DKP", "KEY_ALIGN")) {
                assertThat(text).as(file + " defines " + name).doesNotContainPattern("#define " + name + "\\b");
            }
        }
        FusedLayout layout = new FusedLayout(10, 4, 2, 20, 96, 32);
        assertThat(layout.defines()).isEqualTo("-DDK=20 -DDKP=32 -DKEY_ALIGN=" + FusedLayout.KEY_ALIGN);
        assertThat(layout.keyStride(65)).isEqualTo(128);
        assertThat(layout.ktBytes(3, 65)).isEqualTo(3L * 2 * 20 * 128 * 4);
        assertThat(layout.vBytes(3, 65)).isEqualTo(3L * 2 * 128 * 32 * 4);
        assertThat(layout.qBytes(3, 7)).isEqualTo(3L * 7 * 80 * 4);
    }
}
