//! The `typed` contract's compile-time proofs: for each class of finding of the
//! historical designs, the code that would reproduce it under `typed` does not compile
//! (one file per class in `tests/typed_compile_fail/`, with the compiler's message).

#[test]
fn historical_findings_do_not_compile_under_typed() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/typed_compile_fail/*.rs");
}
