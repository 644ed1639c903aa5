package io.github.clattn.core;

import io.github.clattn.Device;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** The registered {@link BackendProvider}s, loaded once, in {@link BackendProvider#listOrder()}. */
public final class Backends {
    private static final List<BackendProvider> PROVIDERS = load();

    private Backends() {
    }

    private static List<BackendProvider> load() {
        List<BackendProvider> found = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader()).forEach(found::add);
        found.sort(Comparator.comparingInt(BackendProvider::listOrder));
        if (found.stream().noneMatch(BackendProvider::isFallback)) {
            throw new IllegalStateException("no fallback backend registered in META-INF/services/"
                    + BackendProvider.class.getName() + "; found " + found);
        }
        return List.copyOf(found);
    }

    /** Every provider, in list order. */
    public static List<BackendProvider> all() {
        return PROVIDERS;
    }

    /** The provider named {@code name} ({@code opencl}, {@code java}). */
    public static BackendProvider named(String name) {
        for (BackendProvider p : PROVIDERS) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("backend: expected one of " + names() + ", got " + name);
    }

    /** The provider of {@code device}. */
    public static BackendProvider of(Device device) {
        return named(device.backend());
    }

    /** The pure-Java path, where automatic choices fall back. */
    public static BackendProvider fallback() {
        return PROVIDERS.stream().filter(BackendProvider::isFallback).findFirst().orElseThrow();
    }

    static List<String> names() {
        return PROVIDERS.stream().map(BackendProvider::name).toList();
    }
}
