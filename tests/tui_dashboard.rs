//! The deploy dashboard and the Done screen without a terminal and without an engine:
//! `update()` driven by keys and by synthetic `DeployEvent` sequences (failures with their
//! numbers, retries, pauses, quitting with transactions in flight), and insta snapshots at
//! 80×24 and 120×40. Unfinished deployments on Pick come from a real journal in a temp dir.

use crate::common::screen;
use eternalize::engine::{
    Command, DeployEvent, DeploymentSummary, Failure, Progress, Step, StepState,
};
use eternalize::journal::{self, DeploymentKey, Journal};
use eternalize::tui::action::{Action, Effect};
use eternalize::tui::dashboard::{Panel, Phase};
use eternalize::tui::keymap::{Keymap, ScreenKind};
use eternalize::tui::render::dashboard::dashboard_areas;
use eternalize::tui::state::{Start, State, update};
use eternalize::tui::work;
use eternalize::usecase::verify::Verdict;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .expect("crate root")
}

fn lenet() -> PathBuf {
    root().join("tests/fixtures/keras3_4/lenet_cnn.keras")
}

/// Carries out the workers' effects until none are left; returns the engine's effects.
fn settle(state: &mut State, effects: Vec<Effect>) -> Vec<Effect> {
    let mut engine = Vec::new();
    let mut queue: VecDeque<Effect> = effects.into();
    while let Some(e) = queue.pop_front() {
        if e.is_for_engine() {
            engine.push(e);
        } else if let Some(action) = work::perform(e) {
            queue.extend(update(state, action));
        }
    }
    engine
}

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    let effects = update(state, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    settle(state, effects)
}

fn ch(state: &mut State, c: char) -> Vec<Effect> {
    key(state, KeyCode::Char(c))
}

fn event(state: &mut State, e: DeployEvent) {
    assert!(
        update(state, Action::Deploy(e)).is_empty(),
        "events ask for nothing"
    );
}

/// Preview of lenet_cnn.keras, `d`, the right four characters, Enter: the real way in.
fn confirmed(size: (u16, u16)) -> (State, Vec<Effect>) {
    let (mut state, effects) = State::new(root(), Start::File(lenet()), Keymap::default(), size);
    settle(&mut state, effects);
    ch(&mut state, 'd');
    let expected = state.confirm.as_ref().expect("confirm").expected();
    for c in expected.chars() {
        ch(&mut state, c);
    }
    let effects = key(&mut state, KeyCode::Enter);
    (state, effects)
}

const LAYERS: [&str; 10] = [
    "input_layer",
    "reshape",
    "conv_valid",
    "conv_same",
    "maxpool",
    "avgpool",
    "flatten",
    "dense_hidden",
    "dropout",
    "dense_out",
];

fn plan(chunks: usize) -> DeployEvent {
    let mut steps = vec![
        Step::Factory,
        Step::Implementation {
            contract: "Conv2D".into(),
        },
        Step::Implementation {
            contract: "Dense".into(),
        },
        Step::Model,
        Step::Layers { first: 0, count: 6 },
        Step::Layers { first: 6, count: 4 },
        Step::Construct,
    ];
    steps.extend((0..chunks).map(|index| Step::Chunk { index }));
    DeployEvent::Planned {
        model_address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
        chain_id: 31337,
        steps,
        layer_names: LAYERS.iter().map(|s| s.to_string()).collect(),
        chunks,
        format: eternalize::chain::WeightFormat::Compact,
        gas_estimate: 412_000_000,
        cost_estimate: "41200000000000000".into(),
        journal: "/home/op/.local/share/eternalize/deployments/8e3b0c44298fc1c1-31337-f39fd6e51aad88f6f4ce6ab8827279cfffb92266.jsonl".into(),
    }
}

fn mined(n: u64, address: Option<&str>) -> StepState {
    StepState::Mined {
        tx_hash: format!("0x{n:064x}"),
        block: 100 + n,
        gas_used: 1_000_000 + n * 1_000,
        address: address.map(str::to_string),
    }
}

fn pending(n: u64) -> StepState {
    StepState::Pending {
        nonce: n,
        tx_hash: format!("0x{:064x}", 0xabc000 + n),
    }
}

fn insufficient_funds() -> StepState {
    StepState::Failed {
        failure: Failure::InsufficientFunds {
            balance: "1200000000000000".into(),
            need: "3400000000000000".into(),
        },
        attempts: 1,
    }
}

/// 240 chunks: contracts up to the first layer batch mined, the second batch reverted,
/// chunks 0–149 mined except 60 and 61 (out of funds), 150–157 pending, 158–161 sending.
fn mid_deploy(state: &mut State) {
    event(state, plan(240));
    let steps = [
        (
            Step::Factory,
            mined(1, Some("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")),
        ),
        (
            Step::Implementation {
                contract: "Conv2D".into(),
            },
            mined(2, Some("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0")),
        ),
        (
            Step::Implementation {
                contract: "Dense".into(),
            },
            mined(3, Some("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9")),
        ),
        (
            Step::Model,
            mined(4, Some("0x5FbDB2315678afecb367f032d93F642f64180aa3")),
        ),
        (Step::Layers { first: 0, count: 6 }, mined(5, None)),
        (
            Step::Layers { first: 6, count: 4 },
            StepState::Failed {
                failure: Failure::Reverted {
                    reason: "LayerAlreadyLinked(7)".into(),
                },
                attempts: 2,
            },
        ),
    ];
    for (step, st) in steps {
        event(state, DeployEvent::Step { step, state: st });
    }
    for index in 0..162usize {
        let st = match index {
            60 | 61 => insufficient_funds(),
            0..150 => mined(10 + index as u64, None),
            150..158 => pending(index as u64),
            _ => StepState::Sending {
                nonce: index as u64,
                tx_hash: format!("0x{:064x}", index),
            },
        };
        event(
            state,
            DeployEvent::Step {
                step: Step::Chunk { index },
                state: st,
            },
        );
    }
    event(
        state,
        DeployEvent::Note {
            message: "fee bumped to 2.1 gwei for nonce 158 (was 1.9)".into(),
        },
    );
    event(
        state,
        DeployEvent::Progress(Progress {
            transactions_mined: 153,
            transactions_total: 247,
            chunks_stored: 148,
            chunks_total: 240,
            gas_used: 151_000_000,
            cost_wei: "15100000000000000".into(),
            in_flight: 12,
            elapsed_ms: 95_000,
        }),
    );
}

fn deploying(size: (u16, u16)) -> State {
    let (mut state, effects) = confirmed(size);
    assert!(matches!(effects.as_slice(), [Effect::StartDeploy { .. }]));
    mid_deploy(&mut state);
    state
}

fn dash(state: &State) -> &eternalize::tui::dashboard::Dashboard {
    state.dashboard.as_ref().expect("dashboard")
}

fn snapshot_both(name: &str, state: &State) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen(state, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), screen(state, 120, 40));
}

/// Moves the chunk grid's selection to `target` with arrow keys, as a person would.
fn select_chunk(state: &mut State, target: usize) {
    while dash(state).focus != Panel::Chunks {
        key(state, KeyCode::Tab);
    }
    key(state, KeyCode::Home);
    let cols = dashboard_areas(state.size).grid_columns;
    for _ in 0..target / cols {
        key(state, KeyCode::Down);
    }
    for _ in 0..target % cols {
        key(state, KeyCode::Right);
    }
    assert_eq!(dash(state).selected_chunk, target);
}

// ---- update(): into the dashboard ----

#[test]
fn a_confirmed_hash_starts_the_deployment_and_a_refusal_before_sending_is_shown() {
    let (mut state, effects) = confirmed((120, 40));
    assert_eq!(state.screen, ScreenKind::Dashboard);
    let [
        Effect::StartDeploy {
            path, hashed_model, ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(path, &lenet());
    assert_eq!(hashed_model.len(), 128);
    // what src/tui/link.rs answers when the deployment is refused before anything is sent
    event(
        &mut state,
        DeployEvent::Stopped {
            reason: "no network named `sepolia` in the config; known: local. Add a [networks.sepolia] table or pass --rpc-url; nothing was sent".into(),
            resumable: false,
            resume_command: None,
        },
    );
    let d = dash(&state);
    assert!(!d.running());
    assert_eq!(d.chunk_tally.total(), 0, "nothing was pretended");
    let text = screen(&state, 120, 40);
    assert!(
        text.contains("stopped: no network named `sepolia` in the config"),
        "{text}"
    );
    snapshot_both("dashboard_refused_before_sending", &state);
    // nothing in flight: q quits at once, and there is nothing to abort
    assert!(ch(&mut state, 'q').is_empty());
    assert!(state.quit);
    assert_eq!(state.exit_summary(), None);
}

#[test]
fn events_fill_the_contracts_the_chunks_and_the_log() {
    let state = deploying((120, 40));
    let d = dash(&state);
    // factory, 2 implementations, model, 10 layers, construct
    assert_eq!(d.rows.len(), 15);
    assert_eq!(d.step_tally.get(Phase::Mined), 5);
    assert_eq!(d.step_tally.get(Phase::Failed), 1);
    assert_eq!(d.chunks.len(), 240);
    assert_eq!(d.chunk_tally.get(Phase::Mined), 148);
    assert_eq!(d.chunk_tally.get(Phase::Failed), 2);
    assert_eq!(d.chunk_tally.get(Phase::Pending), 8);
    assert_eq!(d.chunk_tally.get(Phase::Sending), 4);
    assert_eq!(d.chunk_tally.get(Phase::Queued), 78);
    assert_eq!(d.in_flight(), 12);
    // the layer rows of a failed batch share its state
    let row = &d.rows[4 + 7];
    assert_eq!(row.label(&d.layer_names), "layer 7 dense_hidden");
    assert_eq!(Phase::of(d.row_state(row)), Phase::Failed);
    let log: Vec<&str> = d.log.iter().map(|l| l.text.as_str()).collect();
    assert!(
        log.contains(
            &"chunk 60 failed (attempt 1): insufficient funds: balance 0.001200 ETH, needs 0.003400 ETH, short by 0.002200 ETH; top up the deployer — r retries it"
        ),
        "{log:#?}"
    );
    assert!(
        log.iter().any(
            |l| l.starts_with("layers 6–9 failed (attempt 2): reverted: LayerAlreadyLinked(7)")
        )
    );
    assert!(log.contains(&"fee bumped to 2.1 gwei for nonce 158 (was 1.9)"));
}

// ---- update(): retry, pause, quit ----

#[test]
fn r_on_a_failed_chunk_retries_that_chunk() {
    let mut state = deploying((120, 40));
    select_chunk(&mut state, 60);
    assert_eq!(
        ch(&mut state, 'r'),
        vec![Effect::Command(Command::Retry(Step::Chunk { index: 60 }))]
    );
    assert!(
        dash(&state)
            .log
            .back()
            .unwrap()
            .text
            .contains("retry of chunk 60")
    );
    // a mined chunk is not retried, and the notice says why
    key(&mut state, KeyCode::Left);
    assert!(ch(&mut state, 'r').is_empty());
    let notice = state.notice.clone().expect("notice");
    assert!(notice.text.contains("chunk 59 is mined"), "{notice:?}");
    // the engine retries it: the chunk goes back to pending, then mined
    event(
        &mut state,
        DeployEvent::Step {
            step: Step::Chunk { index: 60 },
            state: pending(300),
        },
    );
    event(
        &mut state,
        DeployEvent::Step {
            step: Step::Chunk { index: 60 },
            state: mined(300, None),
        },
    );
    assert_eq!(dash(&state).chunk_tally.get(Phase::Failed), 1);
}

#[test]
fn r_on_a_failed_layer_retries_its_batch() {
    let mut state = deploying((80, 24));
    assert_eq!(dash(&state).focus, Panel::Contracts);
    for _ in 0..(4 + 8) {
        key(&mut state, KeyCode::Down);
    }
    assert_eq!(
        ch(&mut state, 'r'),
        vec![Effect::Command(Command::Retry(Step::Layers {
            first: 6,
            count: 4
        }))]
    );
    key(&mut state, KeyCode::Home);
    assert!(ch(&mut state, 'r').is_empty(), "the factory is mined");
    // in the log panel there is nothing selected to retry
    key(&mut state, KeyCode::Tab);
    key(&mut state, KeyCode::Tab);
    assert_eq!(dash(&state).focus, Panel::Log);
    assert!(ch(&mut state, 'r').is_empty());
    assert!(
        state
            .notice
            .as_ref()
            .unwrap()
            .text
            .contains("R retries all")
    );
}

#[test]
fn capital_r_retries_everything_that_failed() {
    let mut state = deploying((120, 40));
    assert_eq!(
        ch(&mut state, 'R'),
        vec![Effect::Command(Command::RetryAllFailed)]
    );
    assert!(
        state
            .notice
            .as_ref()
            .unwrap()
            .text
            .contains("retrying 3 failed steps")
    );
    // once nothing has failed, R asks for nothing
    for index in [60, 61] {
        event(
            &mut state,
            DeployEvent::Step {
                step: Step::Chunk { index },
                state: mined(index as u64, None),
            },
        );
    }
    event(
        &mut state,
        DeployEvent::Step {
            step: Step::Layers { first: 6, count: 4 },
            state: mined(9, None),
        },
    );
    assert!(ch(&mut state, 'R').is_empty());
}

#[test]
fn p_pauses_and_resumes_and_follows_the_engine() {
    let mut state = deploying((120, 40));
    assert_eq!(ch(&mut state, 'p'), vec![Effect::Command(Command::Pause)]);
    assert!(screen(&state, 120, 40).contains("pausing…"));
    assert_eq!(ch(&mut state, 'p'), vec![Effect::Command(Command::Resume)]);
    // the engine pauses on its own when the balance runs out: p then resumes
    event(
        &mut state,
        DeployEvent::Paused {
            reason: "balance 0.001200 ETH is below the next chunk's 0.003400 ETH".into(),
        },
    );
    let text = screen(&state, 120, 40);
    assert!(text.contains("⏸ paused: balance 0.001200 ETH"), "{text}");
    assert_eq!(ch(&mut state, 'p'), vec![Effect::Command(Command::Resume)]);
    event(&mut state, DeployEvent::Resumed);
    assert_eq!(dash(&state).paused, None);
    assert_eq!(ch(&mut state, 'p'), vec![Effect::Command(Command::Pause)]);
}

#[test]
fn q_asks_while_transactions_are_in_flight() {
    let mut state = deploying((120, 40));
    assert!(ch(&mut state, 'q').is_empty());
    assert!(!state.quit);
    assert!(dash(&state).confirm_quit);
    let text = screen(&state, 120, 40);
    assert!(
        text.contains("12 transactions are in flight. Quit anyway?"),
        "{text}"
    );
    assert!(text.contains("can be resumed"), "{text}");
    snapshot_both("dashboard_quit_question", &state);
    // any other key keeps deploying
    assert!(ch(&mut state, 'n').is_empty());
    assert!(!state.quit && !dash(&state).confirm_quit);
    // ^C asks too; y quits and tells the engine to stop after what is in flight
    let effects = update(
        &mut state,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(effects.is_empty() && dash(&state).confirm_quit);
    assert_eq!(ch(&mut state, 'y'), vec![Effect::Command(Command::Abort)]);
    assert!(state.quit);
    // what is printed once the terminal is back
    assert_eq!(
        state.exit_summary().as_deref(),
        Some(
            "The deployment was left unfinished; 12 transactions were in flight and still land.\n  journal       /home/op/.local/share/eternalize/deployments/8e3b0c44298fc1c1-31337-f39fd6e51aad88f6f4ce6ab8827279cfffb92266.jsonl\n  resume        open eternalize again: Pick lists it and Enter resumes it\n"
        )
    );
}

#[test]
fn a_resumable_stop_shows_and_prints_its_resume_command() {
    let mut state = deploying((120, 40));
    event(
        &mut state,
        DeployEvent::Stopped {
            reason: "the RPC endpoint stopped answering (3 tries in 30 s)".into(),
            resumable: true,
            resume_command: Some("eternalize resume 8e3b0c44298fc1c1-31337-f39fd6e5".into()),
        },
    );
    assert_eq!(
        dash(&state).in_flight(),
        0,
        "nothing is in flight once stopped"
    );
    let text = screen(&state, 120, 40);
    assert!(
        text.contains("resume with `eternalize resume 8e3b0c44298fc1c1-31337-f39fd6e5`"),
        "{text}"
    );
    assert!(
        ch(&mut state, 'r').is_empty(),
        "nothing to retry once stopped"
    );
    assert!(ch(&mut state, 'q').is_empty());
    assert!(state.quit);
    let summary = state.exit_summary().expect("summary");
    assert!(
        summary.ends_with("  resume with   eternalize resume 8e3b0c44298fc1c1-31337-f39fd6e5\n"),
        "{summary}"
    );
}

#[test]
fn q_from_help_asks_too_and_with_nothing_in_flight_quits_at_once() {
    let mut state = deploying((120, 40));
    ch(&mut state, '?');
    assert!(state.help);
    ch(&mut state, 'q');
    assert!(!state.help && !state.quit && dash(&state).confirm_quit);
    key(&mut state, KeyCode::Esc);
    // land everything in flight
    for index in 150..162usize {
        event(
            &mut state,
            DeployEvent::Step {
                step: Step::Chunk { index },
                state: mined(index as u64, None),
            },
        );
    }
    assert_eq!(dash(&state).in_flight(), 0);
    assert_eq!(ch(&mut state, 'q'), vec![Effect::Command(Command::Abort)]);
    assert!(state.quit);
}

#[test]
fn tab_and_arrows_move_through_panels_grid_and_log() {
    let mut state = deploying((80, 24));
    let cols = dashboard_areas((80, 24)).grid_columns;
    assert!(cols > 10, "{cols}");
    key(&mut state, KeyCode::Tab);
    assert_eq!(dash(&state).focus, Panel::Chunks);
    key(&mut state, KeyCode::Down);
    key(&mut state, KeyCode::Right);
    assert_eq!(dash(&state).selected_chunk, cols + 1);
    key(&mut state, KeyCode::Up);
    key(&mut state, KeyCode::Up);
    assert_eq!(dash(&state).selected_chunk, 1, "stays in the top row");
    key(&mut state, KeyCode::End);
    assert_eq!(dash(&state).selected_chunk, 239);
    key(&mut state, KeyCode::Down);
    key(&mut state, KeyCode::Right);
    assert_eq!(dash(&state).selected_chunk, 239, "stays at the last chunk");
    key(&mut state, KeyCode::Tab);
    assert_eq!(dash(&state).focus, Panel::Log);
    key(&mut state, KeyCode::Up);
    key(&mut state, KeyCode::Up);
    assert_eq!(dash(&state).log_scroll, 2);
    key(&mut state, KeyCode::End);
    assert_eq!(dash(&state).log_scroll, 0);
    key(&mut state, KeyCode::Tab);
    assert_eq!(dash(&state).focus, Panel::Contracts);
    key(&mut state, KeyCode::End);
    assert_eq!(dash(&state).selected_row, 14);
    // the hint bar comes from the key table
    let text = screen(&state, 120, 40);
    for hint in ["Tab panel", "r retry", "R retry all", "p pause", "q quit"] {
        assert!(text.contains(hint), "{hint}: {text}");
    }
}

// ---- update(): Done ----

fn finish(state: &mut State) {
    event(
        state,
        DeployEvent::Finished(DeploymentSummary {
            model_address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
            chain_id: 31337,
            transactions: 247,
            gas_used: 402_118_334,
            cost_wei: "40211833400000000".into(),
            seconds: 161.4,
            rpc_requests: 612,
            blocks: Some((1, 40)),
            journal: "/home/op/.local/share/eternalize/deployments/8e3b0c44298fc1c1-31337-f39fd6e51aad88f6f4ce6ab8827279cfffb92266.jsonl".into(),
            id: "8e3b0c44298fc1c1-31337-f39fd6e51aad88f6f4ce6ab8827279cfffb92266".into(),
        }),
    );
}

#[test]
fn finished_shows_done_and_the_summary_is_kept_for_stdout() {
    let mut state = deploying((120, 40));
    ch(&mut state, 'q');
    finish(&mut state);
    assert_eq!(state.screen, ScreenKind::Done);
    assert!(!dash(&state).confirm_quit, "the question is moot");
    snapshot_both("done", &state);
    let summary = state.exit_summary().expect("summary");
    assert_eq!(
        summary,
        "Eternal deployed.\n  model         0x5FbDB2315678afecb367f032d93F642f64180aa3\n  chain id      31337\n  transactions  247\n  gas used      402,118,334\n  cost          0.040211 ETH (40211833400000000 wei)\n  time          2m 41s\n  journal       /home/op/.local/share/eternalize/deployments/8e3b0c44298fc1c1-31337-f39fd6e51aad88f6f4ce6ab8827279cfffb92266.jsonl\n"
    );
    // Esc goes back to the model's preview; the summary stays for the exit
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, ScreenKind::Preview);
    assert!(ch(&mut state, 'q').is_empty());
    assert!(state.quit);
    assert!(state.exit_summary().is_some());
}

#[test]
fn v_on_done_verifies_the_deployed_model_against_the_file() {
    use eternalize::tui::dashboard::Verification;
    let mut state = deploying((120, 40));
    finish(&mut state);
    let effects = ch(&mut state, 'v');
    assert_eq!(
        effects,
        vec![Effect::Verify {
            address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
            path: lenet(),
        }]
    );
    assert_eq!(dash(&state).verify, Some(Verification::Running));
    assert!(ch(&mut state, 'v').is_empty(), "one verify at a time");
    let lines = vec![
        "hash     ok".to_string(),
        "graph    ok".into(),
        "weights  ok".into(),
        "predict  ok".into(),
    ];
    let _ = update(
        &mut state,
        Action::Verified(Ok((Verdict::Equal, lines.clone()))),
    );
    assert_eq!(
        dash(&state).verify,
        Some(Verification::Done {
            verdict: Verdict::Equal,
            lines
        })
    );
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("✓ verified: the chain holds exactly this file"),
        "{s}"
    );
    assert!(s.contains("predict  ok"), "{s}");
    let _ = update(
        &mut state,
        Action::Verified(Ok((
            Verdict::Differs,
            vec![
                "weights  DIFFERS".into(),
                "weights: chunk 0 byte 1000 is 0xd1 on chain, 0xd0 in the file".into(),
            ],
        ))),
    );
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("✗ verify: the chain differs from this file") && s.contains("chunk 0 byte 1000"),
        "{s}"
    );
    // A prediction the chain could not run is never "differs".
    let _ = update(
        &mut state,
        Action::Verified(Ok((
            Verdict::Incomplete,
            vec![
                "predict  NOT RUN".into(),
                "predict: could not run: sample 0: layer 2 (Conv2D) needs about 20,000,000 gas"
                    .into(),
            ],
        ))),
    );
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("verify incomplete: nothing differs, but predict could not run")
            && !s.contains("differs from this file"),
        "{s}"
    );
}

#[test]
fn p_on_done_picks_an_input_and_shows_chain_and_reference_side_by_side() {
    use eternalize::tui::dashboard::Sampling;
    use eternalize::usecase::predict::{ComparedOutput, SideBySide};
    let mut state = deploying((120, 40));
    finish(&mut state);
    assert_eq!(press(&mut state, 'p'), vec![Effect::FindSamples(lenet())]);
    assert_eq!(dash(&state).sample, Some(Sampling::Finding));
    assert!(press(&mut state, 'p').is_empty(), "one search at a time");

    // Carried out for real: the fixture folder holds Keras files, their truth and eai JSON,
    // and no input: it says where to put one.
    let found = work::perform(Effect::FindSamples(lenet())).expect("a worker's effect");
    let _ = update(&mut state, found);
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("✗ predict: no .npy or .json input next to the model: put one in"),
        "{s}"
    );

    let own = root().join("tests/fixtures/keras3_4/lenet_cnn_input.npy");
    let other = root().join("tests/fixtures/keras3_4/zeros.json");
    assert_eq!(press(&mut state, 'p'), vec![Effect::FindSamples(lenet())]);
    let _ = update(
        &mut state,
        Action::Samples(Ok(vec![own.clone(), other.clone()])),
    );
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("Predict on which input?") && s.contains("▸ lenet_cnn_input.npy"),
        "{s}"
    );
    // Down, then Enter runs the second; Esc while choosing closes the list, not the screen.
    key(&mut state, KeyCode::Down);
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, ScreenKind::Done);
    assert_eq!(dash(&state).sample, None);
    assert_eq!(press(&mut state, 'p'), vec![Effect::FindSamples(lenet())]);
    let _ = update(
        &mut state,
        Action::Samples(Ok(vec![own.clone(), other.clone()])),
    );
    key(&mut state, KeyCode::Down);
    let effects = key(&mut state, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::Predict {
            address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
            path: lenet(),
            input: other.clone(),
        }]
    );
    assert!(
        press(&mut state, 'p').is_empty(),
        "one prediction at a time"
    );

    let row = |sample, chain: Vec<f64>, offline: Vec<f64>| ComparedOutput {
        sample,
        output: "probs".into(),
        chain,
        offline,
    };
    let both = SideBySide {
        input: other.clone(),
        samples: 2,
        calls: 2,
        gas: Some(1_234_567),
        outputs: vec![
            row(0, vec![0.1, 0.7, 0.2], vec![0.1, 0.7, 0.2]),
            row(1, vec![0.6, 0.3, 0.1], vec![0.6, 0.3, 0.1]),
        ],
    };
    let _ = update(&mut state, Action::Predicted(Ok(Box::new(both.clone()))));
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("✓ predict on zeros.json: on-chain equals offline bit for bit")
            && s.contains("2 sample(s) · 2 eth_calls · 1,234,567 gas"),
        "{s}"
    );
    assert!(
        s.contains("argmax 1 (0.700000)") && s.contains("argmax 0 (0.600000)"),
        "{s}"
    );
    snapshot_both("done_predict", &state);

    // A difference in one value is shown as one.
    let mut off = both.clone();
    off.outputs[1].chain[2] = 0.1000001;
    assert_eq!(press(&mut state, 'p'), vec![Effect::FindSamples(lenet())]);
    let _ = update(&mut state, Action::Samples(Ok(vec![other.clone()])));
    let _ = key(&mut state, KeyCode::Enter);
    let _ = update(&mut state, Action::Predicted(Ok(Box::new(off))));
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("✗ predict on zeros.json") && s.contains("DIFFERS"),
        "{s}"
    );

    // It could not run: why, with the file.
    assert_eq!(press(&mut state, 'p'), vec![Effect::FindSamples(lenet())]);
    let _ = update(&mut state, Action::Samples(Ok(vec![own.clone()])));
    let _ = key(&mut state, KeyCode::Enter);
    let _ = update(
        &mut state,
        Action::Predicted(Err(
            "input 0 has shape [5] but the model takes [28, 28, 1]".into()
        )),
    );
    let s = screen(&state, 120, 40);
    assert!(
        s.contains("✗ predict on lenet_cnn_input.npy could not run: input 0 has shape [5]"),
        "{s}"
    );
}

/// A key without carrying out the workers' effects: what the screen asks for.
fn press(state: &mut State, c: char) -> Vec<Effect> {
    update(
        state,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

// ---- Pick: unfinished deployments ----

fn journal_in(data: &Path, hash: &str, finished: bool) -> String {
    let key = DeploymentKey {
        model_hash: hash.repeat(64),
        chain_id: 31337,
        deployer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
    };
    let mut j = Journal::open(data, &key).expect("journal");
    j.append(&journal::Entry::Started {
        key: key.clone(),
        source: lenet().display().to_string(),
        network: "local (127.0.0.1:8545)".into(),
        format: eternalize::chain::WeightFormat::Compact,
        model_address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
        unix_time: 1,
        chunk_bytes: None,
    })
    .expect("append");
    if finished {
        j.append(&journal::Entry::Finished {
            model_address: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
            unix_time: 2,
        })
        .expect("append");
    }
    key.id()
}

#[test]
fn pick_lists_unfinished_deployments_and_enter_resumes_one() {
    let data = tempfile::tempdir().expect("tempdir");
    let unfinished = journal_in(data.path(), "8e", false);
    journal_in(data.path(), "ab", true);
    let (mut state, mut effects) = State::new(
        root(),
        Start::Folder(root().join("tests/fixtures/keras3_4")),
        Keymap::default(),
        (120, 40),
    );
    effects.push(state.watch_deployments(data.path().to_path_buf()));
    settle(&mut state, effects);
    assert_eq!(
        state.pick.deployments.len(),
        1,
        "the finished one is not listed"
    );
    assert_eq!(state.pick.deployments[0].id, unfinished);
    let text = screen(&state, 120, 40);
    assert!(
        text.contains("unfinished deployments (1) · Enter resumes"),
        "{text}"
    );
    assert!(
        text.contains("↻ tests/fixtures/keras3_4/lenet_cnn.keras"),
        "{text}"
    );
    // the highlight starts on the first model; Home goes up to the deployment
    assert!(state.pick.on_deployment.is_none());
    key(&mut state, KeyCode::Home);
    assert_eq!(state.pick.on_deployment, Some(0));
    key(&mut state, KeyCode::Down);
    assert!(state.pick.on_deployment.is_none());
    assert_eq!(state.pick.selected, 0, "then the folder's first row");
    key(&mut state, KeyCode::Up);
    assert_eq!(
        key(&mut state, KeyCode::Enter),
        vec![Effect::Resume(unfinished)]
    );
    assert_eq!(state.screen, ScreenKind::Dashboard);
    assert_eq!(dash(&state).source, lenet());
}

// ---- snapshots ----

#[test]
fn snapshot_mid_deploy_with_failed_chunks() {
    // the grid's selection on failed chunk 60, laid out for each size
    for (w, h) in [(80, 24), (120, 40)] {
        let mut state = deploying((w, h));
        select_chunk(&mut state, 60);
        insta::assert_snapshot!(
            format!("dashboard_mid_deploy_{w}x{h}"),
            screen(&state, w, h)
        );
    }
}

#[test]
fn snapshot_contracts_focus_on_a_failed_layer() {
    let mut state = deploying((120, 40));
    for _ in 0..11 {
        key(&mut state, KeyCode::Down);
    }
    insta::assert_snapshot!("dashboard_failed_layer_120x40", screen(&state, 120, 40));
}
