//! What a failed `eth_sendRawTransaction` means, read from the node's answer by one table of
//! message patterns (first match wins). Nodes and hosted providers word the same refusal
//! differently; the tests below pin the wording of each client the table was written against.
//!
//! Owns: the mapping of send errors to classes. Must not touch: what the engine does about a
//! class (`send`), the transport's own retries (`rpc`).

use crate::engine::rpc::RpcFailure;

/// The class of a refused broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The node has this very transaction already: as good as accepted.
    AlreadyKnown,
    /// The nonce is used: ours was mined, or another transaction took it.
    NonceTooLow,
    /// The node wants the nonces before this one first.
    NonceTooHigh,
    InsufficientFunds,
    /// The fee is below what the node or the block takes, or too low to replace a pending one.
    Underpriced,
    /// HTTP 429 or a provider's quota.
    RateLimited,
    /// The gas limit is above the chain's per-transaction cap (EIP-7825: 2^24).
    GasCap,
    /// The gas limit is above the block's.
    BlockGasLimit,
    /// The gas limit is below what the transaction costs before it runs.
    IntrinsicGas,
    /// The node could not be reached, or answered with something that is not JSON-RPC.
    Transport,
    /// Any other refusal.
    Other,
}

/// Lower-case fragments that must all occur in the node's message, and what they mean. Order
/// matters where wordings overlap: anvil words the EIP-7825 cap as a *block* gas limit
/// ("… greater than the block gas limit, gas_limit: …, cap: …"), so the cap comes first.
const TABLE: &[(&[&str], SendError)] = &[
    // Rate limits and quotas of hosted providers (the transport retries the plain ones).
    (&["too many requests"], SendError::RateLimited),
    (&["rate limit"], SendError::RateLimited),
    (&["compute units"], SendError::RateLimited),
    (&["request count exceeded"], SendError::RateLimited),
    (&["credits limited to"], SendError::RateLimited),
    // Already in the pool.
    (&["already known"], SendError::AlreadyKnown),
    (&["known transaction"], SendError::AlreadyKnown),
    (&["already imported"], SendError::AlreadyKnown),
    (&["alreadyknown"], SendError::AlreadyKnown),
    (&["already exists"], SendError::AlreadyKnown),
    (&["with same hash"], SendError::AlreadyKnown),
    // Nonces.
    (&["nonce too low"], SendError::NonceTooLow),
    (&["nonce is too low"], SendError::NonceTooLow),
    (&["oldnonce"], SendError::NonceTooLow),
    (&["nonce too high"], SendError::NonceTooHigh),
    (&["nonce too far in future"], SendError::NonceTooHigh),
    (&["noncegap"], SendError::NonceTooHigh),
    // Funds.
    (&["insufficient funds"], SendError::InsufficientFunds),
    (&["insufficient balance"], SendError::InsufficientFunds),
    (&["insufficientfunds"], SendError::InsufficientFunds),
    // The per-transaction gas cap of EIP-7825.
    (&["gas limit", "cap"], SendError::GasCap),
    (&["gas limit too high"], SendError::GasCap),
    (&["gas limit is too high"], SendError::GasCap),
    (&["exceeds max transaction gas limit"], SendError::GasCap),
    (&["tx gas limit", "exceeds"], SendError::GasCap),
    // The block's gas limit.
    (&["block gas limit"], SendError::BlockGasLimit),
    (&["gas limit reached"], SendError::BlockGasLimit),
    (&["gaslimitexceeded"], SendError::BlockGasLimit),
    // reth says this of a gas limit above the block's or above the cap alike.
    (&["intrinsic gas too high"], SendError::BlockGasLimit),
    (&["intrinsic gas too low"], SendError::IntrinsicGas),
    (&["intrinsicgas"], SendError::IntrinsicGas),
    // Fees.
    (&["underpriced"], SendError::Underpriced),
    (&["fee too low"], SendError::Underpriced),
    (&["feetoolow"], SendError::Underpriced),
    (&["less than block base fee"], SendError::Underpriced),
    (&["max fee per gas less than"], SendError::Underpriced),
    (&["fee cap less than"], SendError::Underpriced),
    (&["less than basefee"], SendError::Underpriced),
    (
        &["insufficient gas price to replace"],
        SendError::Underpriced,
    ),
    (&["could not replace existing tx"], SendError::Underpriced),
    (&["replacementnotallowed"], SendError::Underpriced),
];

/// The class of a node's error message, if the table knows it.
pub(super) fn classify_message(message: &str) -> Option<SendError> {
    let m = message.to_ascii_lowercase();
    TABLE
        .iter()
        .find(|(all, _)| all.iter().all(|p| m.contains(p)))
        .map(|&(_, class)| class)
}

/// The class of a failed broadcast.
pub(crate) fn classify_send(e: &RpcFailure) -> SendError {
    match e {
        RpcFailure::RateLimited(_) => SendError::RateLimited,
        RpcFailure::Transport(_) | RpcFailure::Decode { .. } => SendError::Transport,
        // Alchemy answers 429 as a JSON-RPC code; Infura's quota is -32005.
        RpcFailure::Node { code: 429, .. } | RpcFailure::Node { code: -32005, .. } => {
            SendError::RateLimited
        }
        RpcFailure::Node { message, .. } => classify_message(message).unwrap_or(SendError::Other),
    }
}

/// The node's own words for a refusal (without the code), or the failure as text.
pub(crate) fn refusal_text(e: &RpcFailure) -> String {
    match e {
        RpcFailure::Node { message, .. } => message.clone(),
        other => other.message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SendError::*;

    /// (client, message as the client words it, class).
    const WORDINGS: &[(&str, &str, SendError)] = &[
        // --- nonce too low ---
        ("geth core.ErrNonceTooLow", "nonce too low", NonceTooLow),
        (
            "reth RpcInvalidTransactionError::NonceTooLow",
            "nonce too low: next nonce 5, tx nonce 3",
            NonceTooLow,
        ),
        (
            "Nethermind TxPoolErrorMessages.NonceTooLow",
            "nonce too low",
            NonceTooLow,
        ),
        (
            "Nethermind (older releases, the result code) AcceptTxResult.OldNonce",
            "OldNonce, Current nonce: 5, nonce of rejected tx: 3",
            NonceTooLow,
        ),
        ("Erigon txpoolcfg.NonceTooLow", "nonce too low", NonceTooLow),
        (
            "anvil InvalidTransactionError::NonceTooLow",
            "nonce too low",
            NonceTooLow,
        ),
        (
            "OpenEthereum",
            "Transaction nonce is too low. Try incrementing the nonce.",
            NonceTooLow,
        ),
        // --- nonce too high ---
        ("geth core.ErrNonceTooHigh", "nonce too high", NonceTooHigh),
        (
            "reth RpcInvalidTransactionError::NonceTooHigh",
            "nonce too high",
            NonceTooHigh,
        ),
        (
            "anvil InvalidTransactionError::NonceTooHigh",
            "Nonce too high",
            NonceTooHigh,
        ),
        (
            "Nethermind TxPoolErrorMessages.NonceTooFarInFuture",
            "nonce too far in future",
            NonceTooHigh,
        ),
        (
            "Nethermind (older releases, the result code) AcceptTxResult.NonceGap",
            "NonceGap, Future nonce. Expected nonce: 5",
            NonceTooHigh,
        ),
        // --- replacement transaction underpriced ---
        (
            "geth txpool.ErrReplaceUnderpriced",
            "replacement transaction underpriced",
            Underpriced,
        ),
        (
            "reth RpcPoolError::ReplaceUnderpriced",
            "replacement transaction underpriced",
            Underpriced,
        ),
        (
            "Nethermind TxPoolErrorMessages.ReplacementTransactionUnderpriced",
            "replacement transaction underpriced",
            Underpriced,
        ),
        (
            "Nethermind (older releases, the result code) AcceptTxResult.ReplacementNotAllowed",
            "ReplacementNotAllowed",
            Underpriced,
        ),
        (
            "Erigon txpoolcfg.ReplaceUnderpriced",
            "replacement transaction underpriced",
            Underpriced,
        ),
        (
            "Erigon txpoolcfg.NotReplaced",
            "could not replace existing tx",
            Underpriced,
        ),
        (
            "anvil PoolError::ReplacementUnderpriced",
            "Tx: [0x5c50…a8c1] insufficient gas price to replace existing transaction",
            Underpriced,
        ),
        (
            "geth txpool.ErrUnderpriced",
            "transaction underpriced",
            Underpriced,
        ),
        ("Erigon txpoolcfg.UnderPriced", "underpriced", Underpriced),
        ("Erigon txpoolcfg.FeeTooLow", "fee too low", Underpriced),
        (
            "Nethermind (older releases, the result code) AcceptTxResult.FeeTooLow",
            "FeeTooLow, MaxFeePerGas too low.",
            Underpriced,
        ),
        // --- max fee per gas less than block base fee ---
        (
            "geth core.ErrFeeCapTooLow",
            "max fee per gas less than block base fee: address 0xf39F…2266, maxFeePerGas: 1000 baseFee: 875000000",
            Underpriced,
        ),
        (
            "reth RpcInvalidTransactionError::FeeCapTooLow",
            "max fee per gas less than block base fee",
            Underpriced,
        ),
        (
            "anvil InvalidTransactionError::FeeCapTooLow",
            "max fee per gas less than block base fee",
            Underpriced,
        ),
        (
            "revm InvalidTransaction::GasPriceLessThanBasefee",
            "gas price is less than basefee",
            Underpriced,
        ),
        // --- already known ---
        ("geth txpool.ErrAlreadyKnown", "already known", AlreadyKnown),
        (
            "reth RpcPoolError::AlreadyKnown",
            "already known",
            AlreadyKnown,
        ),
        (
            "Nethermind TxPoolErrorMessages.AlreadyKnown",
            "already known",
            AlreadyKnown,
        ),
        (
            "Nethermind (older releases, the result code) AcceptTxResult.AlreadyKnown",
            "AlreadyKnown",
            AlreadyKnown,
        ),
        (
            "Erigon txpoolcfg.AlreadyKnown",
            "already known",
            AlreadyKnown,
        ),
        (
            "Erigon txpoolcfg.DuplicateHash",
            "existing txn with same hash",
            AlreadyKnown,
        ),
        (
            "Erigon (older) txpoolcfg.DuplicateHash",
            "INTERNAL_ERROR: existing tx with same hash",
            AlreadyKnown,
        ),
        (
            "anvil PoolError::AlreadyImported",
            "Tx: [0x5c50…a8c1] already Imported",
            AlreadyKnown,
        ),
        (
            "geth (before 1.9.11) / Parity",
            "known transaction: 5c50…a8c1",
            AlreadyKnown,
        ),
        ("Besu", "Known transaction", AlreadyKnown),
        // --- insufficient funds for gas * price + value ---
        (
            "geth core.ErrInsufficientFunds",
            "insufficient funds for gas * price + value: address 0xf39F…2266 have 0 want 21000000000000",
            InsufficientFunds,
        ),
        (
            "reth RpcInvalidTransactionError::InsufficientFunds",
            "insufficient funds for gas * price + value: have 0 want 21000000000000",
            InsufficientFunds,
        ),
        (
            "Nethermind TxPoolErrorMessages.InsufficientFunds",
            "insufficient funds for gas * price + value",
            InsufficientFunds,
        ),
        (
            "Nethermind (older releases, the result code) AcceptTxResult.InsufficientFunds",
            "InsufficientFunds, Account balance: 0, cumulative cost: 21000",
            InsufficientFunds,
        ),
        (
            "Erigon txpoolcfg.InsufficientFunds",
            "insufficient funds",
            InsufficientFunds,
        ),
        (
            "anvil InvalidTransactionError::InsufficientFunds",
            "Insufficient funds for gas * price + value",
            InsufficientFunds,
        ),
        // --- exceeds block gas limit ---
        (
            "geth txpool.ErrGasLimit",
            "exceeds block gas limit",
            BlockGasLimit,
        ),
        (
            "reth RpcPoolError::ExceedsGasLimit",
            "exceeds block gas limit",
            BlockGasLimit,
        ),
        (
            "revm InvalidTransaction::CallerGasLimitMoreThanBlock",
            "transaction gas limit is greater than the block gas limit",
            BlockGasLimit,
        ),
        (
            "revm (older) InvalidTransaction::CallerGasLimitMoreThanBlock",
            "caller gas limit exceeds the block gas limit",
            BlockGasLimit,
        ),
        (
            "geth core.ErrGasLimitReached",
            "gas limit reached",
            BlockGasLimit,
        ),
        (
            "Nethermind TxPoolErrorMessages.GasLimitReached",
            "gas limit reached",
            BlockGasLimit,
        ),
        (
            "Nethermind (older releases, the result code) AcceptTxResult.GasLimitExceeded",
            "GasLimitExceeded, Gas limit: 40000000, gas limit of rejected tx: 50000000",
            BlockGasLimit,
        ),
        (
            "reth RpcInvalidTransactionError::GasTooHigh",
            "intrinsic gas too high",
            BlockGasLimit,
        ),
        (
            "anvil InvalidTransactionError::GasTooHigh",
            "intrinsic gas too high -- tx.gas_limit > env.block.gas_limit",
            BlockGasLimit,
        ),
        // --- intrinsic gas too low ---
        (
            "geth core.ErrIntrinsicGas",
            "intrinsic gas too low: gas 21000, minimum needed 53000",
            IntrinsicGas,
        ),
        (
            "reth RpcInvalidTransactionError::GasTooLow",
            "intrinsic gas too low",
            IntrinsicGas,
        ),
        (
            "anvil InvalidTransactionError::GasTooLow",
            "intrinsic gas too low",
            IntrinsicGas,
        ),
        (
            "Erigon txpoolcfg.IntrinsicGas",
            "IntrinsicGas",
            IntrinsicGas,
        ),
        // --- EIP-7825 per-transaction gas cap ---
        (
            "geth core.ErrGasLimitTooHigh (txpool adds the numbers)",
            "transaction gas limit too high (cap: 16777216, tx: 30000000)",
            GasCap,
        ),
        (
            "reth RpcInvalidTransactionError::GasLimitTooHigh",
            "gas limit too high",
            GasCap,
        ),
        (
            "reth RpcPoolError::MaxTxGasLimitExceeded",
            "exceeds max transaction gas limit",
            GasCap,
        ),
        (
            "revm InvalidTransaction::TxGasLimitGreaterThanCap",
            "transaction gas limit 30000000 is greater than the cap 16777216",
            GasCap,
        ),
        (
            "revm (older) InvalidTransaction::TxGasLimitGreaterThanCap",
            "transaction gas limit (30000000) is greater than the cap (16777216)",
            GasCap,
        ),
        (
            "anvil InvalidTransactionError::TxGasLimitGreaterThanCap",
            "Transaction gas limit is greater than the block gas limit, gas_limit: 30000000, cap: 16777216",
            GasCap,
        ),
        (
            "Erigon txpoolcfg.GasLimitTooHigh",
            "gas limit is too high",
            GasCap,
        ),
        ("variant", "transaction gas limit exceeds cap", GasCap),
        ("variant", "exceeds transaction gas limit cap", GasCap),
        (
            "variant",
            "tx gas limit 30000000 exceeds maximum 16777216",
            GasCap,
        ),
        // --- rate limits of hosted providers (as JSON-RPC errors) ---
        (
            "Alchemy (code 429)",
            "Your app has exceeded its compute units per second capacity. If you have retries enabled, you can safely ignore this message. If not, check out https://docs.alchemy.com/reference/throughput",
            RateLimited,
        ),
        (
            "Infura (code -32005)",
            "daily request count exceeded, request rate limited",
            RateLimited,
        ),
        (
            "QuickNode (code -32012)",
            "credits limited to 6000/sec",
            RateLimited,
        ),
        ("HTTP 429 text", "429 Too Many Requests", RateLimited),
        ("generic", "rate limit exceeded", RateLimited),
        // --- not a class of its own ---
        (
            "reth RpcPoolError::ExceedsFeeCap",
            "tx fee (1100000000000000000 wei) exceeds the configured cap (1000000000000000000 wei)",
            Other,
        ),
        ("geth", "invalid sender", Other),
        ("geth txpool.ErrTxPoolOverflow", "txpool is full", Other),
    ];

    #[test]
    fn every_client_wording_gets_its_class() {
        let mut wrong = Vec::new();
        for &(client, message, want) in WORDINGS {
            let got = classify_send(&RpcFailure::Node {
                code: -32000,
                message: message.into(),
                data: None,
            });
            if got != want {
                wrong.push(format!("{client}: {message:?} → {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn transport_failures_and_rate_limit_codes_are_classified_without_reading_the_text() {
        assert_eq!(
            classify_send(&RpcFailure::RateLimited("HTTP 429".into())),
            RateLimited
        );
        assert_eq!(
            classify_send(&RpcFailure::Transport("connection refused".into())),
            Transport
        );
        assert_eq!(
            classify_send(&RpcFailure::Decode {
                method: "eth_sendRawTransaction".into(),
                why: "expected a hash".into(),
            }),
            Transport
        );
        for code in [429, -32005] {
            let e = RpcFailure::Node {
                code,
                message: "slow down".into(),
                data: None,
            };
            assert_eq!(classify_send(&e), RateLimited, "code {code}");
        }
    }

    #[test]
    fn a_refusal_is_reported_in_the_nodes_words() {
        let e = RpcFailure::Node {
            code: -32000,
            message: "txpool is full".into(),
            data: None,
        };
        assert_eq!(refusal_text(&e), "txpool is full");
        let e = RpcFailure::Transport("connection refused".into());
        assert_eq!(refusal_text(&e), "connection refused");
    }
}
