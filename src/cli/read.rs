//! `eternalize verify ADDRESS MODEL|BUNDLE` and `eternalize predict …`: flags in, the use
//! case's report out (its `Display`, or its `Serialize` with `--json`).

use super::Exit;
use super::deploy::NetworkArgs;
use crate::chain::WeightFormat;
use crate::engine::network::InstallAnswer;
use crate::usecase::{predict, verify};
use alloy::primitives::Address;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The deployed model contract (0x…)
    pub address: String,
    /// The .keras/.h5 model file or eternalize bundle it should equal
    pub path: PathBuf,
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
    /// Weight format the deployment must use [default: whatever the chain holds]
    #[arg(long, value_parser = super::deploy::format_parser())]
    pub format: Option<WeightFormat>,
    /// Do not ask: install anvil from npm if the local chain needs it
    #[arg(long)]
    pub yes: bool,
    /// Gas each eth_call of the predict check may use: the model runs as chained calls under it
    /// [default: 16777216, or the node's eth_call cap when lower]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1_000_000..))]
    pub call_gas: Option<u64>,
}

/// Parses a `0x` + 40 hex digits address, or `None` when `s` is not one.
pub fn parse_address(s: &str) -> Option<Address> {
    if s.len() == 42 && (s.starts_with("0x") || s.starts_with("0X")) {
        s.parse().ok()
    } else {
        None
    }
}

/// Opens the chain to read; a missing local anvil is installed as `plan`/`deploy` install it (a
/// terminal is asked, `--yes` agrees, and without either nothing is installed: a usage error
/// naming `--yes`).
fn reader(config: Option<&Path>, net: &NetworkArgs, yes: bool) -> anyhow::Result<verify::Reader> {
    let mut nobody_to_ask = false;
    verify::Reader::open(
        config,
        net.network.as_deref(),
        net.rpc_url.as_deref(),
        &mut |offer| {
            let answer = super::deploy::install_consent(offer, yes);
            nobody_to_ask = answer == InstallAnswer::CannotAsk;
            answer
        },
    )
    .map_err(|e| {
        if nobody_to_ask {
            Exit {
                code: 2,
                message: e.to_string(),
            }
            .into()
        } else {
            e
        }
    })
}

fn print_prediction(p: &predict::Prediction, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        println!("{}", serde_json::to_string(p)?);
    } else {
        print!("{p}");
    }
    Ok(())
}

/// `predict ADDRESS`: the deployed model's `predict` (`yes`: install a missing local anvil
/// without asking).
pub fn predict_at(
    config: Option<&Path>,
    address: Address,
    input: &Path,
    net: &NetworkArgs,
    yes: bool,
    as_json: bool,
    call_gas: Option<u64>,
) -> anyhow::Result<()> {
    let reader = reader(config, net, yes)?;
    print_prediction(
        &verify::on_chain(&reader, address, input, call_gas)?,
        as_json,
    )
}

/// `predict MODEL|BUNDLE`: the reference, offline.
pub fn predict_offline(
    model: &Path,
    input: &Path,
    format: WeightFormat,
    as_json: bool,
) -> anyhow::Result<()> {
    print_prediction(&predict::offline(model, input, format)?, as_json)
}

pub fn run_verify(config: Option<&Path>, a: VerifyArgs) -> anyhow::Result<()> {
    let address = parse_address(&a.address).ok_or_else(|| Exit {
        code: 2,
        message: format!(
            "`{}` is not a contract address (0x and 40 hex digits)",
            a.address
        ),
    })?;
    let reader = reader(config, &a.network, a.yes)?;
    let report = verify::verify(&reader, address, &a.path, a.format, a.call_gas)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{report}");
    }
    let (code, said) = match report.verdict() {
        verify::Verdict::Equal => return Ok(()),
        verify::Verdict::Differs => (1, "does not equal"),
        verify::Verdict::Incomplete => (
            1,
            "could not be proved equal (nothing differs, but predict could not run) to",
        ),
    };
    Err(Exit {
        code,
        message: format!(
            "{} {said} {}:\n{}",
            report.address,
            a.path.display(),
            report.failures().join("\n")
        ),
    }
    .into())
}

/// `predict ADDRESS --send`: the inference as an on-chain job. Plans every transaction first
/// and shows it; a non-local network asks on a terminal unless `--yes` (as `deploy`); then sends
/// them pipelined and prints the result read on chain (with `"job"`, `"transactions"` and
/// `"gas_used"` in `--json`). Running it again after an interruption continues the same job.
#[allow(clippy::too_many_arguments)]
pub fn predict_send(
    config: Option<&Path>,
    address: Address,
    input: &Path,
    net: &NetworkArgs,
    signer_args: &super::deploy::SignerArgs,
    yes: bool,
    as_json: bool,
    max_tx_bytes: Option<usize>,
) -> anyhow::Result<()> {
    use crate::usecase::job;
    use std::io::{IsTerminal, Write};
    let session = super::deploy::open_signer_session(config, net, signer_args, yes)?;
    let reader = verify::Reader::at(&session.connected.url, session.network.chain_id)?;
    let signer = session.signer.clone();
    let from = signer.address();
    let mut total = job::Sent::default();
    loop {
        // `--max-tx-bytes`, else the network's `max_tx_bytes`, else the default.
        let bytes = max_tx_bytes
            .or(session.network.max_tx_bytes)
            .unwrap_or(job::DEFAULT_MAX_TX_BYTES);
        let planned = job::plan_all(&reader, address, input, from, bytes)?;
        eprint!("{planned}");
        if !session.network.is_local() && !yes {
            if !std::io::stdin().is_terminal() {
                return Err(Exit {
                    code: 2,
                    message: format!(
                        "sending a job to `{}` needs confirmation: pass --yes (no terminal to ask on); nothing was sent",
                        session.network.name
                    ),
                }
                .into());
            }
            eprint!(
                "send to {} (chain {})? [y/N] ",
                session.network.name, planned.chain_id
            );
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES") {
                anyhow::bail!("not confirmed; nothing was sent");
            }
        }
        let (sent, done) = job::send_all(&reader, &planned, &signer)?;
        total.transactions += sent.transactions;
        total.gas_used += sent.gas_used;
        total.largest = total.largest.max(sent.largest);
        // The job contract was placed first: plan the jobs themselves now.
        let Some(mut done) = done else { continue };
        done.report.transactions = total.transactions;
        done.report.gas_used = total.gas_used;
        done.report.largest_gas_used = total.largest;
        if as_json {
            println!("{}", serde_json::to_string(&done.report)?);
        } else {
            print!("{}", done.prediction);
            print!("{}", done.report);
        }
        return Ok(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_told_from_paths() {
        let a = "0x2ECc737f84439EC6CA0516DDAAe4e850a93B25e6";
        assert_eq!(
            parse_address(a).map(|x| x.to_checksum(None)),
            Some(a.into())
        );
        assert!(parse_address("model.keras").is_none());
        assert!(parse_address("0x1234").is_none());
        assert!(parse_address(&format!("0x{}", "g".repeat(40))).is_none());
    }
}
