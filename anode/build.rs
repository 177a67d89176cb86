//! With the `python` feature the binary embeds CPython: record libpython's
//! directory as the rpath, so the binary finds it without LD_LIBRARY_PATH.
fn main() {
    #[cfg(feature = "python")]
    pyo3_build_config::add_libpython_rpath_link_args();
}
