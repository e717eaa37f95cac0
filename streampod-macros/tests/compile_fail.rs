//! Mistakes in an endpoint trait are compile errors that point at the user's code and say
//! what to do; `tests/ui/*.stderr` pins each message.

#[test]
fn mistakes_are_explained() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
