// SPDX-License-Identifier: GPL-2.0
//
// A proof made by implementing its trait for a token that proves nothing:
// the proof traits have private supertraits, so no file but
// rust/context.rs can implement them. (Twin: implementing a trait of one's
// own for the token is fine.)
//
// expect: E0277

use crate::context::{Atomic, MayAlloc};

case! {
    impl MayAlloc for Atomic {}
}

twin! {
    trait Mine {}
    impl Mine for Atomic {}
}
