//! `keyed_enum!`: the enums whose discriminants are map keys or indices
//! (frame classes, drop reasons, events, port states), with the lookups
//! both sides need written once.

/// Defines a `#[repr(u32)]` enum whose discriminants are map key values,
/// numbered from 0 without gaps, each variant with the lower-case name the
/// daemon prints, and on it:
/// - `ALL`: every variant, in discriminant order;
/// - `from_u32`: the variant for a key value, if it is one (a `match`, not an
///   index into `ALL`: the eBPF programs call it, and a match compiles to
///   compares, with no `.rodata` load for the verifier);
/// - `name`: the variant's printed name.
macro_rules! keyed_enum {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $value:literal => $name:literal,
            )+
        }
    ) => {
        $(#[$meta])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $enum {
            $(
                $(#[$variant_meta])*
                $variant = $value,
            )+
        }

        // The discriminants must be 0, 1, 2, ... in declaration order: `ALL`
        // is indexed by them and the maps are sized by its length.
        #[allow(clippy::cast_possible_truncation, reason = "a key enum has a handful of variants")]
        const _: () = {
            let values = [$($value as u32),+];
            let mut i = 0;
            while i < values.len() {
                assert!(
                    values[i] == i as u32,
                    concat!(stringify!($enum), ": discriminants must run 0, 1, 2, ... in order")
                );
                i += 1;
            }
        };

        impl $enum {
            /// Every variant, in discriminant order.
            pub const ALL: [$enum; [$($value),+].len()] = [$($enum::$variant),+];

            /// The variant for a key value, if it is one.
            #[must_use]
            pub const fn from_u32(value: u32) -> Option<Self> {
                match value {
                    $($value => Some($enum::$variant),)+
                    _ => None,
                }
            }

            /// The lower-case name used in status output.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)+
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    keyed_enum! {
        /// A test enum.
        pub enum Sample {
            /// The first.
            First = 0 => "first",
            Second = 1 => "second",
            Third = 2 => "third",
        }
    }

    #[test]
    fn lookups_agree_with_the_discriminants() {
        assert_eq!(Sample::ALL, [Sample::First, Sample::Second, Sample::Third]);
        for (i, v) in Sample::ALL.iter().enumerate() {
            assert_eq!(*v as usize, i, "ALL is in discriminant order");
            assert_eq!(Sample::from_u32(u32::try_from(i).unwrap()), Some(*v));
        }
        assert_eq!(Sample::from_u32(3), None);
        assert_eq!(Sample::Second.name(), "second");
    }
}
