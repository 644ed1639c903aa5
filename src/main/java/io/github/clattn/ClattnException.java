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

    /** The OpenCL status name, or null. */
    private final String errorName;
    /** The OpenCL function that failed, or null. */
    private final String call;

    /**
     * A failure that is not an OpenCL status.
     *
     * @param message what failed, and what to do about it where that is known
     */
    public ClattnException(String message) {
        this(message, null, null, null);
    }

    /**
     * A failure caused by another exception.
     *
     * @param message what failed
     * @param cause   the underlying exception, or null
     */
    public ClattnException(String message, Throwable cause) {
        this(message, cause, null, null);
    }

    /**
     * A failed OpenCL call.
     *
     * @param message   what failed
     * @param cause     the underlying exception, or null
     * @param call      the OpenCL function, such as {@code clBuildProgram}, or null
     * @param errorName the OpenCL status name, such as {@code CL_BUILD_PROGRAM_FAILURE}, or null
     */
    public ClattnException(String message, Throwable cause, String call, String errorName) {
        super(message, cause);
        this.call = call;
        this.errorName = errorName;
    }

    /** {@return the OpenCL status name, such as {@code CL_MEM_OBJECT_ALLOCATION_FAILURE}, or null} */
    public String errorName() {
        return errorName;
    }

    /** {@return the OpenCL function that failed, such as {@code clEnqueueNDRangeKernel}, or null} */
    public String call() {
        return call;
    }
}
