//! [`Show`]: how `print()` and `save_as_text_files` write an element, as Scala's `toString`
//! would: `(word,3)`, `Some(1.5)`, `[a, b]`.

use crate::data::format_double;

/// Renders an element the way Spark Streaming prints it.
///
/// ```
/// use tidewater::dstream::Show;
/// assert_eq!(("spark".to_string(), 2u64).show(), "(spark,2)");
/// assert_eq!((1.0f64, Some(false), vec![1, 2]).show(), "(1.0,Some(false),[1, 2])");
/// ```
pub trait Show {
    /// Appends the rendering to `out`.
    fn show_into(&self, out: &mut String);

    /// The rendering.
    fn show(&self) -> String {
        let mut out = String::new();
        self.show_into(&mut out);
        out
    }
}

macro_rules! show_with_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show_into(&self, out: &mut String) {
                use std::fmt::Write;
                let _ = write!(out, "{self}");
            }
        }
    )*};
}

show_with_display!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, bool, char, str, String);

impl Show for f64 {
    fn show_into(&self, out: &mut String) {
        out.push_str(&format_double(*self));
    }
}

impl Show for f32 {
    fn show_into(&self, out: &mut String) {
        out.push_str(&format_double(f64::from(*self)));
    }
}

impl Show for () {
    fn show_into(&self, out: &mut String) {
        out.push_str("()");
    }
}

impl<T: Show + ?Sized> Show for &T {
    fn show_into(&self, out: &mut String) {
        (**self).show_into(out)
    }
}

impl<T: Show> Show for Option<T> {
    fn show_into(&self, out: &mut String) {
        match self {
            Some(x) => {
                out.push_str("Some(");
                x.show_into(out);
                out.push(')');
            }
            None => out.push_str("None"),
        }
    }
}

impl<T: Show> Show for Vec<T> {
    fn show_into(&self, out: &mut String) {
        out.push('[');
        for (i, x) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            x.show_into(out);
        }
        out.push(']');
    }
}

macro_rules! show_tuple {
    ($($name:ident),+) => {
        impl<$($name: Show),+> Show for ($($name,)+) {
            #[allow(non_snake_case)]
            fn show_into(&self, out: &mut String) {
                let ($($name,)+) = self;
                out.push('(');
                let mut first = true;
                $(
                    if !std::mem::take(&mut first) {
                        out.push(',');
                    }
                    $name.show_into(out);
                )+
                out.push(')');
            }
        }
    };
}

show_tuple!(A);
show_tuple!(A, B);
show_tuple!(A, B, C);
show_tuple!(A, B, C, D);
show_tuple!(A, B, C, D, E);
