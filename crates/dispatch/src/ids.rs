//! Contact ids minted at the edge, where randomness may be drawn.

use std::sync::{Mutex, PoisonError};

use switchboard_domain::{ContactId, Timestamp};

/// Bits of a UUID v7 left to a counter and random data (12 of `rand_a`, 62 of `rand_b`).
const COUNTER_BITS: u32 = 74;
const COUNTER_MAX: u128 = (1 << COUNTER_BITS) - 1;

/// The last id minted in this process: its millisecond and its counter.
static LAST: Mutex<(i64, u128)> = Mutex::new((i64::MIN, 0));

/// A fresh id for a contact created at `now` (read by the caller from its [`crate::Clock`]):
/// a UUID v7 whose 74 free bits start from the operating system's random source.
///
/// Ids are strictly increasing within the process, like `Uuid::now_v7`'s: a second id in the
/// same millisecond — or after the clock stepped back — continues from the last one (same
/// time, counter + 1), so contacts created here keep their order of creation where the
/// engine breaks a tie by id (equal priority, same arrival millisecond).
///
/// # Panics
/// If the operating system cannot provide random bytes (as `Uuid::now_v7` would).
pub fn fresh_contact_id(now: Timestamp) -> ContactId {
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    let (millis, counter) = if now.as_millis() > last.0 || last.1 == COUNTER_MAX {
        // A new millisecond (or, after 2^74 ids in one, the next): fresh random bits, the top
        // one clear so that the counter has room to count up.
        let mut random = [0; 16];
        getrandom::fill(&mut random[6..]).expect("the operating system's random source");
        let start = u128::from_be_bytes(random) & (COUNTER_MAX >> 1);
        (now.as_millis().max(last.0.saturating_add(1)), start)
    } else {
        (last.0, last.1 + 1)
    };
    *last = (millis, counter);
    drop(last);
    ContactId::from_parts(Timestamp::from_millis(millis), spread(counter))
}

/// The 74-bit counter as the 10 bytes [`ContactId::from_parts`] takes, laid out around the
/// version and variant bits so that a larger counter gives a larger UUID.
fn spread(counter: u128) -> [u8; 10] {
    let rand_a = (counter >> 62) as u16; // 12 bits, after the version nibble
    let rand_b = (counter as u64) & ((1 << 62) - 1); // 62 bits, after the variant
    let mut bytes = [0; 10];
    bytes[..2].copy_from_slice(&rand_a.to_be_bytes());
    bytes[2..].copy_from_slice(&rand_b.to_be_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(id: ContactId) -> i64 {
        let mut ms = [0; 8];
        ms[2..].copy_from_slice(&id.as_uuid().as_bytes()[..6]);
        i64::from_be_bytes(ms)
    }

    #[test]
    fn ids_carry_their_instant_and_never_go_backwards() {
        // Far in the future, so that other tests of this process minting ids at the real
        // time do not interfere.
        let t = |ms: i64| Timestamp::from_millis(4_102_444_800_000 + ms);
        let a = fresh_contact_id(t(0));
        assert_eq!(millis(a), t(0).as_millis());
        assert_eq!(a.as_uuid().get_version_num(), 7);
        // The same millisecond: later ids, same instant.
        let b = fresh_contact_id(t(0));
        let c = fresh_contact_id(t(0));
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(millis(c), t(0).as_millis());
        // A clock that stepped back: still increasing, at the last instant.
        let d = fresh_contact_id(t(-1_000));
        assert!(c < d);
        assert_eq!(millis(d), t(0).as_millis());
        // A later millisecond: its own instant, fresh random bits.
        let e = fresh_contact_id(t(1));
        assert!(d < e);
        assert_eq!(millis(e), t(1).as_millis());
    }

    #[test]
    fn the_counter_orders_like_the_uuid() {
        let at = Timestamp::from_millis(0);
        let ids = [0, 1, (1 << 62) - 1, 1 << 62, COUNTER_MAX >> 1, COUNTER_MAX]
            .map(|n| ContactId::from_parts(at, spread(n)));
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }
}
