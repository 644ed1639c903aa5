package io.github.clattn;

/**
 * The one runtime failure type of clattn: an OpenCL call failed, a kernel did not build, or a
 * device could not be used. Bad arguments are reported as {@link IllegalArgumentException} and
 * use after close as {@link IllegalStateException}; everything else the library throws is a
 * {@code ClattnException}.
 *
 * <p>When the failure came from an OpenCL call, {@link #errorName()} is the OpenCL status name
 * (for example {@code CL_OUT_OF_RESOURCES}) and {@link #call()} the API function that returned it.
 */
public class ClattnException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String errorName;
    private final String call;

    public ClattnException(String message) {
        this(message, null, null, null);
    }

    public ClattnException(String message, Throwable cause) {
        this(message, cause, null, null);
    }

    public ClattnException(String message, Throwable cause, String call, String errorName) {
        super(message, cause);
        this.call = call;
        this.errorName = errorName;
    }

    /** The OpenCL status name, such as {@code CL_MEM_OBJECT_ALLOCATION_FAILURE}, or null. */
    public String errorName() {
        return errorName;
    }

    /** The OpenCL function that failed, such as {@code clEnqueueNDRangeKernel}, or null. */
    public String call() {
        return call;
    }
}
