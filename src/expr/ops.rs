//! Rust operators on expressions: `col("a") + lit(1)`, `!col("flag")`, `-col("x")`.

use std::ops::{Add, Div, Mul, Neg, Not, Rem, Sub};

use super::{BinaryOp, Expr, UnaryOp};

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl<R: Into<Expr>> $trait<R> for Expr {
            type Output = Expr;
            fn $method(self, rhs: R) -> Expr {
                Expr::Binary($op, Box::new(self), Box::new(rhs.into()))
            }
        }
    };
}

binary_operator!(Add, add, BinaryOp::Add);
binary_operator!(Sub, sub, BinaryOp::Sub);
binary_operator!(Mul, mul, BinaryOp::Mul);
binary_operator!(Div, div, BinaryOp::Div);
binary_operator!(Rem, rem, BinaryOp::Rem);

impl Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Unary(UnaryOp::Not, Box::new(self))
    }
}

impl Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::Unary(UnaryOp::Negate, Box::new(self))
    }
}
