//! The fee bump policy: how much more a stuck or underpriced transaction offers when it is
//! re-signed at the same nonce. Nodes replace a pending transaction only for at least 10 % more
//! (geth's default price bump), so each bump adds 12.5 % and one wei to both the fee cap and the
//! tip; the fee cap also covers twice the current base fee plus the tip (a base fee can rise
//! 12.5 % a block); and nothing is ever offered above the operator's cap.
//!
//! Owns: the numbers of a bump. Must not touch: signing or sending (`send`).

/// What the next version of a transaction offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bump {
    /// Re-sign with these fees (wei per gas).
    To { max_fee: u128, priority: u128 },
    /// The fee cap is already at the operator's cap: nothing higher may be offered.
    CapReached { cap: u128 },
}

/// The fees after `max_fee`/`priority`, given the latest base fee (`None` before London) and
/// the operator's cap on the fee per gas.
pub(crate) fn bumped(
    max_fee: u128,
    priority: u128,
    base_fee: Option<u128>,
    cap: Option<u128>,
) -> Bump {
    let mut next_max = max_fee.saturating_add(max_fee / 8).saturating_add(1);
    let mut next_priority = priority.saturating_add(priority / 8).saturating_add(1);
    if let Some(base) = base_fee {
        next_max = next_max.max(base.saturating_mul(2).saturating_add(next_priority));
    }
    if let Some(cap) = cap {
        next_max = next_max.min(cap);
    }
    next_priority = next_priority.min(next_max);
    if next_max <= max_fee {
        // Only the cap can hold the fee where it is, so `next_max` is the cap.
        return Bump::CapReached { cap: next_max };
    }
    Bump::To {
        max_fee: next_max,
        priority: next_priority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    fn to(b: Bump) -> (u128, u128) {
        match b {
            Bump::To { max_fee, priority } => (max_fee, priority),
            other => panic!("no bump: {other:?}"),
        }
    }

    #[test]
    fn a_bump_offers_at_least_an_eighth_more_fee_and_tip() {
        for (max_fee, priority) in [
            (2 * GWEI + GWEI, GWEI),
            (8, 0),
            (0, 0),
            (3 * GWEI, 3 * GWEI),
        ] {
            let (m, p) = to(bumped(max_fee, priority, None, None));
            assert!(m * 8 >= max_fee * 9 && m > max_fee, "{max_fee} → {m}");
            assert!(p * 8 >= priority * 9 && p > priority, "{priority} → {p}");
            // Replacement needs ≥ 10 % more in both (geth's default price bump).
            assert!(m * 10 >= max_fee * 11 && p * 10 >= priority * 11);
        }
        assert_eq!(to(bumped(800, 80, None, None)), (901, 91));
    }

    #[test]
    fn a_bump_covers_twice_the_current_base_fee_plus_the_tip() {
        // Stuck below a base fee that jumped: the new fee cap meets it with room for a rise.
        let (m, p) = to(bumped(3 * GWEI, GWEI, Some(1000 * GWEI), None));
        assert_eq!(p, GWEI + GWEI / 8 + 1);
        assert_eq!(m, 2000 * GWEI + p);
        // A low base fee leaves the 12.5 % bump in charge.
        let (m, _) = to(bumped(3 * GWEI, GWEI, Some(1), None));
        assert_eq!(m, 3 * GWEI + 3 * GWEI / 8 + 1);
    }

    #[test]
    fn a_bump_never_offers_more_than_the_cap() {
        let cap = 4 * GWEI;
        // Room for part of a bump: up to the cap, not beyond.
        let (m, p) = to(bumped(
            3 * GWEI + GWEI / 2,
            GWEI,
            Some(1000 * GWEI),
            Some(cap),
        ));
        assert_eq!(m, cap);
        assert!(p <= m);
        // The tip never exceeds the fee cap either.
        let (m, p) = to(bumped(10, 10, None, Some(11)));
        assert_eq!((m, p), (11, 11));
    }

    #[test]
    fn at_the_cap_there_is_no_bump_and_the_cap_is_named() {
        let cap = 4 * GWEI;
        assert_eq!(
            bumped(cap, GWEI, Some(1000 * GWEI), Some(cap)),
            Bump::CapReached { cap }
        );
        // A cap below what was already signed (lowered between runs) also stops bumps.
        assert_eq!(
            bumped(5 * GWEI, GWEI, None, Some(cap)),
            Bump::CapReached { cap }
        );
    }

    #[test]
    fn legacy_chains_bump_the_gas_price_the_same_way() {
        // Before London `max_fee` is the gas price and there is no base fee.
        let (m, _) = to(bumped(20 * GWEI, 0, None, Some(100 * GWEI)));
        assert_eq!(m, 20 * GWEI + 20 * GWEI / 8 + 1);
    }
}
