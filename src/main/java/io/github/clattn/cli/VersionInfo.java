package io.github.clattn.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.security.CodeSource;
import java.util.Enumeration;
import java.util.Properties;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jocl.CL;

/**
 * What {@code clattn --version} prints: clattn's version, JOCL's, Java's and whether the Vector
 * API is there. Nothing here loads a native library or initialises JOCL.
 */
final class VersionInfo {
    static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String BUILD_PROPERTIES = "/io/github/clattn/cli/version.properties";
    private static final String JOCL_POM_PROPERTIES = "/META-INF/maven/org.jocl/jocl/pom.properties";
    /** JOCL's native libraries inside its jar: lib/libJOCL_2_0_5-linux-x86_64.so, lib/JOCL_2_0_5-windows-x86_64.dll. */
    private static final Pattern JOCL_NATIVE = Pattern.compile("lib/(?:lib)?JOCL_(\\d+(?:_\\d+)*)-[^/]+");

    private VersionInfo() {
    }

    /** The lines of {@code clattn --version}. */
    static String[] lines() {
        return new String[] {
            "clattn " + clattnVersion(),
            "JOCL " + joclVersion(),
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ", "
                    + System.getProperty("java.vendor") + ")",
            "Vector API: " + (vectorApiAvailable()
                    ? "available (" + VECTOR_MODULE + ")"
                    : "not available (start Java with --add-modules " + VECTOR_MODULE
                            + "; the Java path then uses its scalar kernels)")};
    }

    /** The project version the build wrote into the CLI's resources, else "development build". */
    static String clattnVersion() {
        String v = property(VersionInfo.class, BUILD_PROPERTIES, "version");
        if (v == null) {
            v = property(VersionInfo.class, "/META-INF/maven/io.github.clattn/clattn/pom.properties", "version");
        }
        return v == null ? "development build" : v;
    }

    /**
     * The version of the JOCL classes this JVM loaded: from JOCL's pom.properties or its jar's
     * manifest when they say (JOCL 2.0.5 has neither), else from the name of the native library that
     * ships beside the classes ({@code lib/libJOCL_2_0_5-...}), else the version clattn was built
     * against.
     */
    static String joclVersion() {
        String v = property(CL.class, JOCL_POM_PROPERTIES, "version");
        if (v != null) {
            return v;
        }
        File jar = codeSource(CL.class);
        if (jar != null && jar.isFile()) {
            try (JarFile file = new JarFile(jar)) {
                v = manifestVersion(file, jar.getName());
                if (v != null) {
                    return v;
                }
                for (Enumeration<JarEntry> e = file.entries(); e.hasMoreElements(); ) {
                    Matcher m = JOCL_NATIVE.matcher(e.nextElement().getName());
                    if (m.matches()) {
                        return m.group(1).replace('_', '.');
                    }
                }
            } catch (IOException | SecurityException ignored) {
                // fall through to the build-time version
            }
        }
        v = property(VersionInfo.class, BUILD_PROPERTIES, "jocl.version");
        return v == null ? "(version unknown)" : v + " (the version clattn was built with)";
    }

    /** True when the Vector API's incubator module is in this JVM's boot layer. */
    static boolean vectorApiAvailable() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /** The manifest's version, trusted only in JOCL's own jar (not in a jar that bundles it). */
    private static String manifestVersion(JarFile file, String name) throws IOException {
        Manifest manifest = file.getManifest();
        if (manifest == null || !name.toLowerCase(java.util.Locale.ROOT).startsWith("jocl")) {
            return null;
        }
        Attributes main = manifest.getMainAttributes();
        String v = main.getValue(Attributes.Name.IMPLEMENTATION_VERSION);
        return v != null ? v : main.getValue("Bundle-Version");
    }

    private static File codeSource(Class<?> type) {
        try {
            CodeSource source = type.getProtectionDomain().getCodeSource();
            URL location = source == null ? null : source.getLocation();
            return location == null || !"file".equals(location.getProtocol()) ? null : new File(location.toURI());
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }

    private static String property(Class<?> anchor, String resource, String key) {
        try (InputStream in = anchor.getResourceAsStream(resource)) {
            if (in == null) {
                return null;
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty(key);
            return v == null || v.isBlank() || v.startsWith("${") ? null : v.trim();
        } catch (IOException e) {
            return null;
        }
    }
}
