// A kernel that does not compile, for the build-failure test.
__kernel void broken(__global float* a) {
    a[get_global_id(0)] = undefined_identifier_for_test;
}
