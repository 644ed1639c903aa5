package io.github.clattn;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.clattn.core.BackendProvider;
import io.github.clattn.core.Backends;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The module descriptor exports the API package only (the backends, the reference and the CLI
 * stay internal), and its {@code provides} names the same backends as the classpath registration
 * in {@code META-INF/services}, so the library finds the same backends on the module path and on
 * the class path.
 */
class ModuleDescriptorTest {
    private static final String SERVICES = "META-INF/services/" + BackendProvider.class.getName();

    /** The descriptor compiled beside the library's classes (tests run on the class path, where it is not applied). */
    private static ModuleDescriptor descriptor() throws IOException {
        try {
            Path classes = Path.of(Attention.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
                return ModuleDescriptor.read(in);
            }
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
    }

    @Test
    void exportsOnlyTheApiPackage() throws IOException {
        ModuleDescriptor m = descriptor();
        assertThat(m.name()).isEqualTo("io.github.clattn");
        assertThat(m.exports()).extracting(ModuleDescriptor.Exports::source).containsExactly("io.github.clattn");
        assertThat(m.exports()).allSatisfy(e -> assertThat(e.isQualified()).isFalse());
        assertThat(m.opens()).allSatisfy(o -> assertThat(o.targets()).containsExactly("info.picocli"));
    }

    @Test
    void providesTheBackendsOfTheServicesFile() throws IOException {
        List<String> registered;
        try (InputStream in = ModuleDescriptorTest.class.getClassLoader().getResourceAsStream(SERVICES)) {
            assertThat(in).as(SERVICES).isNotNull();
            registered = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::trim)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        }
        ModuleDescriptor m = descriptor();
        assertThat(m.uses()).containsExactly(BackendProvider.class.getName());
        assertThat(m.provides()).singleElement().satisfies(p -> {
            assertThat(p.service()).isEqualTo(BackendProvider.class.getName());
            assertThat(p.providers()).containsExactlyElementsOf(registered);
        });
        assertThat(Backends.all()).extracting(p -> p.getClass().getName()).containsExactlyInAnyOrderElementsOf(registered);
        assertThat(Backends.fallback().isFallback()).isTrue();
    }
}
