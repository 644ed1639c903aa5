package io.github.clattn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code clattn generate-completion}: picocli's bash completion script for every subcommand. */
class CompletionCommandTest {
    private static final String[] COMMANDS = {"devices", "run", "bench", "verify", "tune"};

    @Test
    void theScriptCompletesEverySubcommand() {
        Cli.Result r = Cli.run("generate-completion");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains("complete -F _complete_clattn -o default clattn");
        for (String command : COMMANDS) {
            assertThat(r.out()).as(command).contains("function _picocli_clattn_" + command + "()");
        }
        assertThat(r.out()).containsPattern("local commands=\"devices run bench verify tune\\b");
    }

    @Test
    void bashCompletesCommandsAndOptionsWithIt(@TempDir Path dir) throws Exception {
        Path bash = Path.of("/bin/bash");
        assumeTrue(Files.isExecutable(bash), "no /bin/bash");
        Path script = dir.resolve("clattn.bash");
        Files.writeString(script, Cli.run("generate-completion").out(), StandardCharsets.UTF_8);
        assertThat(complete(bash, script, "clattn ")).startsWith("devices run bench verify tune");
        assertThat(complete(bash, script, "clattn be")).isEqualTo("bench");
        assertThat(complete(bash, script, "clattn bench --se")).isEqualTo("--seq --seed");
        assertThat(complete(bash, script, "clattn verify --dev")).isEqualTo("--device");
    }

    /** What the script offers for {@code line} (the cursor at its end), as bash would compute it. */
    private static String complete(Path bash, Path script, String line) throws Exception {
        String program = "source \"$1\"; read -ra COMP_WORDS <<< \"$2\"; [[ \"$2\" == *' ' ]] && COMP_WORDS+=('');"
                + " COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE=\"$2\"; COMP_POINT=${#2};"
                + " _complete_clattn 2>/dev/null; echo \"${COMPREPLY[*]}\"";
        Process p = new ProcessBuilder(bash.toString(), "-c", program, "bash", script.toString(), line)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
