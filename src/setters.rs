//! Builder-style setters for the settings structs, which are `#[non_exhaustive]` (a new
//! setting must not break anyone) and so cannot be built with a struct literal outside the
//! crate: `Config::default().max_outbound_bytes(1 << 18).workers(2)`.

/// `setters!(Type { field: FieldType, .. })` adds `fn field(self, value) -> Self` for each.
macro_rules! setters {
    ($ty:ident { $($field:ident: $field_ty:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets [`", stringify!($ty), "::", stringify!($field), "`].")]
                #[must_use]
                pub fn $field(mut self, value: $field_ty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

pub(crate) use setters;
