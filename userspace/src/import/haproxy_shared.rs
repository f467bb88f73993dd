//! Values halb has once per proxy where haproxy has one per section
//! (timeouts, `retries`, `option redispatch`): a `defaults` value is the
//! starting point, the first section that sets another replaces it for
//! the whole proxy (a remark), and a later different one is not imported.

use super::report::Outcome;

/// A value halb has once per proxy, and where it was set.
#[derive(Debug)]
pub struct Shared<T> {
    pub value: Option<T>,
    line: usize,
    from_defaults: bool,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Self { value: None, line: 0, from_defaults: true }
    }
}

impl<T: PartialEq> Shared<T> {
    /// Sets the value from line `line` (of a `defaults` section or not), and says how it went.
    pub fn set(&mut self, value: T, line: usize, in_defaults: bool) -> Outcome {
        if self.value.as_ref().is_none_or(|old| *old == value) {
            if self.value.is_none() {
                *self = Self { value: Some(value), line, from_defaults: in_defaults };
            }
            return Outcome::Mapped;
        }
        let earlier = self.line;
        if in_defaults && self.from_defaults {
            *self = Self { value: Some(value), line, from_defaults: true };
            Outcome::Mapped
        } else if self.from_defaults {
            *self = Self { value: Some(value), line, from_defaults: false };
            Outcome::Note(format!("halb has one value for the whole proxy: this one replaces line {earlier}'s for every frontend and backend"))
        } else {
            Outcome::Unsupported(format!(
                "halb has one value for the whole proxy; line {earlier}'s is kept"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;
    use crate::import::Outcome;

    #[test]
    fn defaults_start_sections_replace_once_then_clash() {
        let mut value = Shared::default();
        assert_eq!(value.set(5, 3, true), Outcome::Mapped);
        assert_eq!(value.set(6, 4, true), Outcome::Mapped, "a later defaults section replaces");
        assert!(matches!(value.set(7, 9, false), Outcome::Note(_)));
        assert_eq!(value.set(7, 12, false), Outcome::Mapped, "the same value again");
        let Outcome::Unsupported(why) = value.set(8, 15, false) else { panic!("a clash") };
        assert!(why.contains("line 9's is kept"), "{why}");
        assert_eq!(value.value, Some(7));
    }
}
