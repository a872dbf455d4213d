//! The TUI without a terminal: `update()` driven by key actions (the workers' results are
//! produced on the test's thread by the same `work::perform` the workers run), and insta
//! snapshots of every screen drawn into ratatui's `TestBackend` at 80×24 and 120×40, from the
//! real fixture files. Paths are shown relative to the crate root, so snapshots are stable.

use crate::common::screen;
use eternalize::tui::action::{Action, Effect};
use eternalize::tui::keymap::{Keymap, ScreenKind};
use eternalize::tui::state::{ConfirmStage, Loadable, Pane, Start, State, update};
use eternalize::tui::target::{
    Choices, NetworkOption, Probe, ProbeFailure, ProbeReport, SignerOption,
};
use eternalize::tui::work;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .expect("crate root")
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/keras3_4")
}

/// Carries out effects (and the effects their results ask for) until none are left.
fn settle(state: &mut State, effects: Vec<Effect>) {
    let mut queue: VecDeque<Effect> = effects.into();
    while let Some(e) = queue.pop_front() {
        // The engine's effects have no engine here (tests/tui_dashboard.rs feeds its events).
        if let Some(action) = work::perform(e) {
            queue.extend(update(state, action));
        }
    }
}

fn open(start: Start, size: (u16, u16)) -> State {
    let (mut state, effects) = State::new(root(), start, Keymap::default(), size);
    settle(&mut state, effects);
    state
}

fn open_folder() -> State {
    open(Start::Folder(fixtures()), (120, 40))
}

fn key_with(state: &mut State, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    update(state, Action::Key(KeyEvent::new(code, modifiers)))
}

/// Presses a key and lets the work it asks for finish.
fn press(state: &mut State, code: KeyCode) {
    let effects = key_with(state, code, KeyModifiers::NONE);
    settle(state, effects);
}

fn type_text(state: &mut State, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

fn highlighted_name(state: &State) -> String {
    state
        .pick
        .highlighted()
        .map(|e| e.name.clone())
        .unwrap_or_default()
}

fn snapshot_both(name: &str, state: &State) {
    insta::assert_snapshot!(format!("{name}_80x24"), screen(state, 80, 24));
    insta::assert_snapshot!(format!("{name}_120x40"), screen(state, 120, 40));
}

fn preview_of(relative: &str) -> State {
    open(Start::File(root().join(relative)), (120, 40))
}

// ---- update(): Pick ----

#[test]
fn pick_lists_folders_first_then_models_and_bundles_only() {
    let state = open(Start::Folder(root().join("tests/fixtures")), (120, 40));
    let names: Vec<String> = state
        .pick
        .visible()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(names[0], "..");
    assert!(names.contains(&"keras3_4".to_string()), "{names:?}");
    // truth files, the generator script and READMEs are not models
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with(".truth.json") && !n.ends_with(".py") && !n.ends_with(".md")),
        "{names:?}"
    );
    let sub = open_folder();
    let files: Vec<String> = sub.pick.visible().iter().map(|e| e.name.clone()).collect();
    assert_eq!(files.len(), 29, "28 files and ..: {files:?}");
    assert!(files.iter().all(|n| !n.ends_with(".truth.json")));
    assert!(files.contains(&"lenet_cnn.keras.eai.json".to_string()));
}

#[test]
fn pick_starts_on_the_first_file_and_sniffs_what_is_highlighted() {
    let mut state = open_folder();
    assert_eq!(highlighted_name(&state), "batchnorm_mlp.h5");
    let path = fixtures().join("batchnorm_mlp.h5");
    assert!(matches!(state.pick.sniffs.get(&path), Some(Ok(_))));
    // moving asks for the next sniff, once
    let effects = key_with(&mut state, KeyCode::Down, KeyModifiers::NONE);
    let next = fixtures().join("batchnorm_mlp.h5.eai.json");
    assert_eq!(effects, vec![Effect::Sniff(next.clone())]);
    assert!(key_with(&mut state, KeyCode::Up, KeyModifiers::NONE).is_empty());
    settle(&mut state, effects);
    let sniff = state.pick.sniffs[&next].as_ref().expect("sniff");
    assert_eq!(sniff.format, "bundle");
    assert_eq!(sniff.hash_verified, Some(true));
}

#[test]
fn pick_navigation_keys() {
    let mut state = open_folder();
    press(&mut state, KeyCode::End);
    assert_eq!(highlighted_name(&state), "zeropad_gap.keras.eai.json");
    press(&mut state, KeyCode::Down);
    assert_eq!(
        highlighted_name(&state),
        "zeropad_gap.keras.eai.json",
        "stays at the end"
    );
    press(&mut state, KeyCode::Home);
    assert_eq!(highlighted_name(&state), "..");
    press(&mut state, KeyCode::Up);
    assert_eq!(highlighted_name(&state), "..", "stays at the top");
    press(&mut state, KeyCode::PageDown);
    assert!(state.pick.selected > 1);
    press(&mut state, KeyCode::PageUp);
    assert_eq!(state.pick.selected, 0);
}

#[test]
fn typing_filters_and_letters_are_text_not_commands() {
    let mut state = open_folder();
    type_text(&mut state, "lenet");
    let names: Vec<String> = state
        .pick
        .visible()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(
        names,
        [
            "lenet_cnn.h5",
            "lenet_cnn.h5.eai.json",
            "lenet_cnn.keras",
            "lenet_cnn.keras.eai.json"
        ]
    );
    // `q` and `j` are typed into the filter on Pick: no quitting, no moving
    type_text(&mut state, " q");
    assert!(!state.quit);
    assert_eq!(state.pick.filter, "lenet q");
    assert!(state.pick.visible().is_empty());
    press(&mut state, KeyCode::Backspace);
    press(&mut state, KeyCode::Backspace);
    assert_eq!(state.pick.filter, "lenet");
    type_text(&mut state, " KERAS");
    assert_eq!(state.pick.visible().len(), 2, "words match in any case");
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.pick.filter, "", "Esc clears the filter");
    assert_eq!(state.screen, ScreenKind::Pick);
    key_with(&mut state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(state.quit, "^C quits on Pick");
}

#[test]
fn enter_opens_a_folder_and_back_returns_to_where_we_were() {
    let mut state = open(Start::Folder(root().join("tests/fixtures")), (120, 40));
    type_text(&mut state, "keras3_4");
    let effects = key_with(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(effects, vec![Effect::List(fixtures())]);
    assert!(matches!(state.pick.listing, Loadable::Loading));
    assert_eq!(state.pick.filter, "", "a new folder starts unfiltered");
    settle(&mut state, effects);
    assert_eq!(state.pick.dir, fixtures());
    press(&mut state, KeyCode::Left);
    assert_eq!(state.pick.dir, root().join("tests/fixtures"));
    assert_eq!(
        highlighted_name(&state),
        "keras3_4",
        "the folder we came from"
    );
    // Backspace with an empty filter goes up too
    press(&mut state, KeyCode::Backspace);
    assert_eq!(state.pick.dir, root().join("tests"));
    assert_eq!(highlighted_name(&state), "fixtures");
}

#[test]
fn answers_for_places_we_left_are_ignored() {
    let mut state = open_folder();
    let before = state.pick.visible().len();
    update(
        &mut state,
        Action::Listed {
            dir: root(),
            result: Ok(Vec::new()),
        },
    );
    assert_eq!(state.pick.visible().len(), before);
    type_text(&mut state, "lenet_cnn.keras");
    let effects = key_with(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(effects[0], Effect::Load(fixtures().join("lenet_cnn.keras")));
    assert_eq!(
        effects[1],
        Effect::MeasureFormats(fixtures().join("lenet_cnn.keras")),
        "every weight format is measured alongside"
    );
    assert!(
        matches!(&effects[2..], [Effect::Probe(p)] if p.network == "local"),
        "the chain is probed alongside: {effects:?}"
    );
    update(
        &mut state,
        Action::Loaded {
            path: fixtures().join("mlp_basic.keras"),
            result: Err("not this one".into()),
        },
    );
    let preview = state.preview.as_ref().expect("preview");
    assert!(matches!(preview.model, Loadable::Loading));
    assert!(state.busy());
}

// ---- update(): Preview ----

#[test]
fn enter_on_a_file_previews_it_and_back_returns_to_it() {
    let mut state = open_folder();
    type_text(&mut state, "lenet_cnn.keras");
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.screen, ScreenKind::Preview);
    let Some(Loadable::Ready(model)) = state.preview.as_ref().map(|p| &p.model) else {
        panic!("the model should be loaded");
    };
    assert_eq!(model.layers.len(), 10);
    assert_eq!(model.total_params, Some(1_738));
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, ScreenKind::Pick);
    assert!(state.preview.is_none());
    assert_eq!(highlighted_name(&state), "lenet_cnn.keras");
}

#[test]
fn preview_scrolls_layers_and_the_detail_pane() {
    let mut state = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    let p = |s: &State| s.preview.clone().expect("preview");
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(p(&state).selected, 2);
    press(&mut state, KeyCode::End);
    assert_eq!(p(&state).selected, 9);
    press(&mut state, KeyCode::Down);
    assert_eq!(p(&state).selected, 9);
    press(&mut state, KeyCode::Char('g'));
    assert_eq!(p(&state).selected, 0);
    press(&mut state, KeyCode::PageDown);
    assert_eq!(
        p(&state).selected,
        9,
        "a page is more than 10 rows at 40 lines"
    );
    press(&mut state, KeyCode::Tab);
    assert_eq!(p(&state).focus, Pane::Detail);
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Down);
    assert_eq!(p(&state).detail_scroll, 2);
    assert_eq!(
        p(&state).selected,
        9,
        "the table stays while the detail scrolls"
    );
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Up);
    assert_eq!(p(&state).selected, 8);
    assert_eq!(
        p(&state).detail_scroll,
        0,
        "a new layer's detail starts at its top"
    );
}

#[test]
fn a_layer_shows_its_tensors_stats_and_histogram() {
    let state = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    let Some(Loadable::Ready(model)) = state.preview.as_ref().map(|p| &p.model) else {
        panic!("loaded");
    };
    let conv = &model.layers[2];
    assert_eq!(conv.name, "conv_valid");
    let tensors = conv.tensors.as_ref().expect("tensors");
    assert_eq!(tensors[0].shape, vec![5, 5, 1, 4]);
    assert_eq!(tensors[1].shape, vec![4]);
    let h = conv.histogram.as_ref().expect("histogram");
    assert_eq!(h.bins.iter().sum::<usize>(), 104);
    assert!(conv.config.contains("\"filters\": 4"));
}

#[test]
fn our_bundle_decodes_the_same_tensors_as_the_model_file() {
    let (bundle_path, _) = exported_bundles();
    let from_bundle = preview_of(&bundle_path);
    let from_model = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    let layers = |s: &State| match s.preview.as_ref().map(|p| &p.model) {
        Some(Loadable::Ready(m)) => m.layers.clone(),
        _ => panic!("loaded"),
    };
    let (b, m) = (layers(&from_bundle), layers(&from_model));
    let (tb, tm) = (b[2].tensors.clone().unwrap(), m[2].tensors.clone().unwrap());
    assert_eq!(tb[0].shape, tm[0].shape);
    let (sb, sm) = (tb[0].stats.clone().unwrap(), tm[0].stats.clone().unwrap());
    // Q32.32 truncates: within 2^-32 of the float
    assert!((sb.min - sm.min).abs() < 1e-9 && (sb.max - sm.max).abs() < 1e-9);
    assert_eq!(
        b[2].histogram
            .as_ref()
            .map(|h| h.bins.iter().sum::<usize>()),
        Some(104)
    );
}

// ---- update(): Confirm ----

#[test]
fn confirm_hash_right_wrong_and_escape() {
    let mut state = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    press(&mut state, KeyCode::Char('d'));
    assert_eq!(state.screen, ScreenKind::Confirm);
    let expected = state.confirm.as_ref().expect("confirm").expected();
    assert_eq!(expected.len(), 4);

    // not hex: not typed at all
    type_text(&mut state, "xyz ");
    assert_eq!(state.confirm.as_ref().unwrap().typed, "");
    // wrong: flip the last character
    let last = expected.chars().last().unwrap();
    let wrong = format!("{}{}", &expected[..3], if last == '0' { '1' } else { '0' });
    type_text(&mut state, &wrong);
    assert_eq!(state.confirm.as_ref().unwrap().stage, ConfirmStage::Wrong);
    type_text(&mut state, "ff");
    assert_eq!(
        state.confirm.as_ref().unwrap().typed,
        wrong,
        "nothing past 4 characters"
    );
    press(&mut state, KeyCode::Enter);
    assert!(state.notice.as_ref().is_some_and(|n| n.is_error));
    assert_eq!(state.screen, ScreenKind::Confirm);

    // correct it
    press(&mut state, KeyCode::Backspace);
    assert_eq!(state.confirm.as_ref().unwrap().stage, ConfirmStage::Typing);
    type_text(&mut state, &last.to_ascii_uppercase().to_string());
    assert_eq!(
        state.confirm.as_ref().unwrap().stage,
        ConfirmStage::Confirmed,
        "upper-case hex is the same hex"
    );
    let effects = key_with(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(state.screen, ScreenKind::Dashboard);
    let hashed_model = match effects.as_slice() {
        [
            Effect::StartDeploy {
                path, hashed_model, ..
            },
        ] => {
            assert_eq!(path, &fixtures().join("lenet_cnn.keras"));
            hashed_model.clone()
        }
        other => panic!("expected StartDeploy, got {other:?}"),
    };
    assert!(hashed_model.starts_with(&expected) && hashed_model.len() == 128);

    // Esc on a deployment that has not stopped stays; once stopped it goes back to Preview
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, ScreenKind::Dashboard);
    update(
        &mut state,
        Action::Deploy(eternalize::engine::DeployEvent::Stopped {
            reason: "no network named `sepolia` in the config; known: local. Add a [networks.sepolia] table or pass --rpc-url; nothing was sent".into(),
            resumable: false,
            resume_command: None,
        }),
    );
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, ScreenKind::Preview);

    // Esc goes back without confirming; q is text on Confirm
    press(&mut state, KeyCode::Char('d'));
    type_text(&mut state, "q");
    assert!(!state.quit);
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, ScreenKind::Preview);
    assert!(state.confirm.is_none());
}

#[test]
fn a_bundle_whose_hash_fails_cannot_go_on_to_confirm() {
    let (_, tampered) = exported_bundles();
    let mut state = preview_of(&tampered);
    press(&mut state, KeyCode::Char('d'));
    assert_eq!(state.screen, ScreenKind::Preview);
    let n = state.notice.clone().expect("refused");
    assert!(
        n.is_error && n.text.contains("does not match the contents"),
        "{n:?}"
    );
}

// ---- update(): help and resize ----

#[test]
fn help_toggles_and_swallows_other_keys() {
    let mut state = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    press(&mut state, KeyCode::Char('?'));
    assert!(state.help);
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Char('d'));
    assert_eq!(state.preview.as_ref().unwrap().selected, 0);
    assert_eq!(state.screen, ScreenKind::Preview);
    press(&mut state, KeyCode::Char('?'));
    assert!(!state.help);
    press(&mut state, KeyCode::F(1));
    assert!(state.help);
    press(&mut state, KeyCode::Esc);
    assert!(!state.help);
    assert_eq!(state.screen, ScreenKind::Preview, "Esc closed help only");
    press(&mut state, KeyCode::Char('q'));
    assert!(state.quit);
}

#[test]
fn a_small_terminal_gets_a_message_naming_the_size_needed() {
    let mut state = open_folder();
    update(
        &mut state,
        Action::Resize {
            width: 50,
            height: 15,
        },
    );
    assert!(state.too_small());
    let text = screen(&state, 50, 15);
    assert!(text.contains("needs at least 60×20"), "{text}");
    assert!(text.contains("It is 50×15"), "{text}");
    insta::assert_snapshot!("too_small_50x15", text);
    update(
        &mut state,
        Action::Resize {
            width: 80,
            height: 24,
        },
    );
    assert!(!state.too_small());
}

#[test]
fn keys_from_the_config_file_reach_the_hint_bar_and_help() {
    let map = eternalize::tui::config::parse_keymap("[keys]\ndeploy = \"D\"\n").unwrap();
    let (mut state, effects) = State::new(
        root(),
        Start::File(fixtures().join("lenet_cnn.keras")),
        map,
        (120, 40),
    );
    settle(&mut state, effects);
    let text = screen(&state, 120, 40);
    assert!(text.contains("D deploy"), "{text}");
    press(&mut state, KeyCode::Char('d'));
    assert_eq!(state.screen, ScreenKind::Preview);
    press(&mut state, KeyCode::Char('D'));
    assert_eq!(state.screen, ScreenKind::Confirm);
}

// ---- snapshots ----

/// Our own bundle of lenet_cnn.keras, and a copy with one weight changed; written under the
/// crate's target folder so their paths show the same on every machine.
fn exported_bundles() -> (String, String) {
    static WRITTEN: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    WRITTEN.get_or_init(write_bundles).clone()
}

fn write_bundles() -> (String, String) {
    let dir = root().join("target/tui-test-bundles");
    std::fs::create_dir_all(&dir).unwrap();
    let model = eternalize::keras::load(&fixtures().join("lenet_cnn.keras")).unwrap();
    let bundle = eternalize::bundle::Bundle::from_model(&model).unwrap();
    let mut bytes = Vec::new();
    bundle.write(&mut bytes, true).unwrap();
    let good = "target/tui-test-bundles/lenet_cnn.bundle.json";
    std::fs::write(root().join(good), &bytes).unwrap();
    // change the first digit of the weights list: only the weights half breaks
    let text = String::from_utf8(bytes).unwrap();
    let at = text.find("\"weights\": [").unwrap() + "\"weights\": [".len();
    let mut tampered = text.into_bytes();
    tampered[at] = if tampered[at] == b'1' { b'2' } else { b'1' };
    let bad = "target/tui-test-bundles/lenet_cnn.tampered.json";
    std::fs::write(root().join(bad), tampered).unwrap();
    (good.into(), bad.into())
}

#[test]
fn snapshot_pick() {
    let state = open_folder();
    snapshot_both("pick_folder", &state);
}

#[test]
fn snapshot_pick_filtered() {
    let mut state = open_folder();
    type_text(&mut state, "lenet");
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Down);
    snapshot_both("pick_filtered_lenet", &state);
}

#[test]
fn snapshot_preview_model_file() {
    let mut state = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Down);
    snapshot_both("preview_lenet_keras_conv", &state);
}

#[test]
fn snapshot_preview_eai_bundle() {
    let mut state = preview_of("tests/fixtures/keras3_4/mlp_basic.keras.eai.json");
    press(&mut state, KeyCode::Down);
    snapshot_both("preview_mlp_basic_eai_bundle", &state);
}

/// An eai bundle whose graph is cut: the layer marked, the reason in the detail pane and in
/// the totals.
#[test]
fn snapshot_preview_cut_eai_bundle() {
    let mut state = preview_of("tests/fixtures/keras3_4/batchnorm_mlp.keras.eai.json");
    for _ in 0..5 {
        press(&mut state, KeyCode::Down);
    }
    snapshot_both("preview_cut_eai_bundle", &state);
}

/// A model file with a layer eternalize cannot deploy: the reason in the detail pane and in the
/// totals.
#[test]
fn snapshot_preview_unsupported_layer() {
    let mut state = preview_of("tests/fixtures/bad/unsupported_unitnorm.keras");
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Down);
    snapshot_both("preview_unsupported_unitnorm", &state);
}

#[test]
fn snapshot_preview_tampered_bundle() {
    let (_, tampered) = exported_bundles();
    let mut state = preview_of(&tampered);
    press(&mut state, KeyCode::Char('d')); // refused: the notice shows
    snapshot_both("preview_tampered_bundle", &state);
}

#[test]
fn snapshot_confirm() {
    let mut state = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    press(&mut state, KeyCode::Char('d'));
    type_text(&mut state, "8e");
    snapshot_both("confirm_typing", &state);
    type_text(&mut state, "00");
    snapshot_both("confirm_wrong", &state);
    press(&mut state, KeyCode::Backspace);
    press(&mut state, KeyCode::Backspace);
    let expected = state.confirm.as_ref().unwrap().expected();
    type_text(&mut state, &expected[2..]);
    snapshot_both("confirm_confirmed", &state);
}

#[test]
fn snapshot_help() {
    let mut state = preview_of("tests/fixtures/keras3_4/lenet_cnn.keras");
    press(&mut state, KeyCode::Char('?'));
    snapshot_both("help_over_preview", &state);
}

// ---- update(): the network and signer, and their probe ----

/// A probe's answer as the keeper would send it for lenet on a fresh anvil (fixed numbers).
fn synthetic_report() -> ProbeReport {
    let gas: u64 = 2_417_306;
    let (fee, max) = (1_875_000_000u128, 2_750_000_001u128);
    ProbeReport {
        network: "local".into(),
        chain_id: 31337,
        rpc: "http://127.0.0.1:8545".into(),
        deployer: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
        balance_wei: "10000000000000000000000".into(),
        gas,
        transactions: 7,
        already_deployed: 0,
        fee_per_gas: fee,
        max_fee_per_gas: max,
        cost_wei: (u128::from(gas) * fee).to_string(),
        worst_case_wei: (u128::from(gas) * max).to_string(),
        sufficient: true,
    }
}

fn test_choices() -> Choices {
    Choices {
        networks: vec![
            NetworkOption {
                name: "local".into(),
                local: true,
            },
            NetworkOption {
                name: "sepolia".into(),
                local: false,
            },
        ],
        signers: vec![
            SignerOption::EnvKey,
            SignerOption::DevAccount,
            SignerOption::Keystore {
                name: "deployer".into(),
                path: PathBuf::from("/keys/deployer"),
            },
        ],
    }
}

/// Preview of lenet with `test_choices`; returns the probe asked for at start.
fn preview_with_choices() -> (State, eternalize::tui::action::ProbeRequest) {
    let (mut state, effects) = State::with_choices(
        root(),
        Start::File(fixtures().join("lenet_cnn.keras")),
        Keymap::default(),
        (120, 40),
        test_choices(),
    );
    let probe = effects
        .iter()
        .find_map(|e| match e {
            Effect::Probe(p) => Some(p.clone()),
            _ => None,
        })
        .expect("a probe at start");
    settle(&mut state, effects);
    (state, probe)
}

fn probes(effects: &[Effect]) -> Vec<eternalize::tui::action::ProbeRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Probe(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

fn answer(state: &mut State, generation: u64, result: Result<ProbeReport, ProbeFailure>) {
    let effects = update(
        state,
        Action::Probed {
            generation,
            result: result.map(Box::new),
        },
    );
    assert!(effects.is_empty(), "an answer asks for nothing");
}

#[test]
fn a_probe_answer_fills_preview_and_a_stale_one_is_ignored() {
    let (mut state, first) = preview_with_choices();
    assert_eq!(first.network, "local");
    assert_eq!(
        first.signer,
        SignerOption::EnvKey,
        "the environment's key first"
    );
    assert_eq!(first.password, None);
    assert_eq!(state.target.probe, Probe::Connecting);
    assert!(state.busy(), "the spinner turns while connecting");
    // `n` asks again: the first answer is now stale
    let effects = key_with(&mut state, KeyCode::Char('n'), KeyModifiers::NONE);
    let [second] = probes(&effects)
        .try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("one probe: {v:?}"));
    assert_eq!(second.network, "sepolia");
    assert!(second.generation > first.generation);
    answer(&mut state, first.generation, Ok(synthetic_report()));
    assert_eq!(state.target.probe, Probe::Connecting, "stale: ignored");
    let mut report = synthetic_report();
    report.network = "sepolia".into();
    report.chain_id = 11155111;
    answer(&mut state, second.generation, Ok(report.clone()));
    assert_eq!(state.target.probe, Probe::Ready(Box::new(report)));
    assert!(!state.busy());
    let text = screen(&state, 120, 40);
    assert!(text.contains("sepolia · chain 11155111"), "{text}");
}

#[test]
fn n_and_s_cycle_the_choices_and_probe_again() {
    let (mut state, _) = preview_with_choices();
    let choose = |state: &mut State, c: char| {
        let e = key_with(state, KeyCode::Char(c), KeyModifiers::NONE);
        probes(&e)
    };
    // local: env key → dev account → keystore (locked: the prompt opens, no probe yet)
    let p = choose(&mut state, 's');
    assert_eq!(p[0].signer, SignerOption::DevAccount);
    assert!(
        choose(&mut state, 's').is_empty(),
        "a locked keystore waits for its password"
    );
    assert_eq!(state.target.probe, Probe::Locked);
    assert!(state.target.password.is_some());
    // Esc in the prompt: back to the dev account, probed again
    let e = key_with(&mut state, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(probes(&e)[0].signer, SignerOption::DevAccount);
    assert_eq!(
        state.screen,
        ScreenKind::Preview,
        "Esc closed the prompt only"
    );
    // sepolia has no dev account: the signer moves to the first that works there
    let p = choose(&mut state, 'n');
    assert_eq!(
        (p[0].network.as_str(), &p[0].signer),
        ("sepolia", &SignerOption::EnvKey)
    );
    let p = choose(&mut state, 'n');
    assert_eq!(p[0].network, "local", "round the list");
    assert!(choose(&mut state, 'd').is_empty());
    assert_eq!(state.screen, ScreenKind::Confirm);
    assert!(
        choose(&mut state, 'n').is_empty(),
        "n is no command on Confirm"
    );
    assert_eq!(
        state.confirm.as_ref().unwrap().typed,
        "",
        "nor hex: not typed"
    );
    assert!(
        choose(&mut state, 'd').is_empty(),
        "d is no command on Confirm"
    );
    assert_eq!(state.confirm.as_ref().unwrap().typed, "d", "but hex: typed");
}

#[test]
fn a_keystore_password_is_masked_sent_once_and_asked_again_when_wrong() {
    let (mut state, _) = preview_with_choices();
    press(&mut state, KeyCode::Char('s'));
    press(&mut state, KeyCode::Char('s'));
    assert_eq!(state.target.probe, Probe::Locked);
    type_text(&mut state, "hunter2 q?x");
    press(&mut state, KeyCode::Backspace);
    assert!(
        !state.quit && !state.help,
        "every character is the password's"
    );
    let shown = screen(&state, 80, 24);
    assert!(shown.contains("password ••••••••••"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        !format!("{state:?}").contains("hunter2"),
        "not in Debug output"
    );
    let effects = key_with(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    let [probe] = probes(&effects)
        .try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("one probe: {v:?}"));
    assert_eq!(
        probe.password.as_ref().map(|p| p.expose()),
        Some("hunter2 q?")
    );
    assert!(
        state.target.password.is_none(),
        "the prompt (and the password) left the state"
    );
    answer(
        &mut state,
        probe.generation,
        Err(ProbeFailure {
            message: "keystore /keys/deployer: cannot decrypt it — wrong password, or not an Ethereum keystore".into(),
            wrong_password: true,
        }),
    );
    let prompt = state.target.password.as_ref().expect("asked again");
    assert!(prompt.typed.is_empty());
    assert_eq!(
        prompt.error.as_deref(),
        Some("wrong password for keystore deployer; try again")
    );
    snapshot_both("preview_keystore_password_wrong", &state);
    type_text(&mut state, "right");
    let effects = key_with(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    let probe = probes(&effects).remove(0);
    answer(&mut state, probe.generation, Ok(synthetic_report()));
    assert!(state.target.report().is_some());
    // unlocked: choosing it again probes without asking
    press(&mut state, KeyCode::Char('s'));
    let effects = key_with(&mut state, KeyCode::Char('s'), KeyModifiers::NONE);
    let effects = [
        effects,
        key_with(&mut state, KeyCode::Char('s'), KeyModifiers::NONE),
    ]
    .concat();
    assert!(
        probes(&effects)
            .iter()
            .any(|p| matches!(p.signer, SignerOption::Keystore { .. }) && p.password.is_none()),
        "{effects:?}"
    );
}

#[test]
fn a_failed_probe_is_one_line_and_the_deploy_goes_where_chosen() {
    let (mut state, first) = preview_with_choices();
    answer(
        &mut state,
        first.generation,
        Err(ProbeFailure {
            message: "could not read the chain id at https://rpc.example/…: connection refused"
                .into(),
            wrong_password: false,
        }),
    );
    assert!(matches!(&state.target.probe, Probe::Failed(m) if m.contains("connection refused")));
    let text = screen(&state, 80, 24);
    assert!(
        text.contains("✗ could not read the chain id at https://rpc.example/…"),
        "{text}"
    );
    // The deploy takes the network and signer chosen, whatever the probe said.
    press(&mut state, KeyCode::Char('s'));
    press(&mut state, KeyCode::Char('d'));
    let expected = state.confirm.as_ref().unwrap().expected();
    type_text(&mut state, &expected);
    let effects = key_with(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    match effects.as_slice() {
        [
            Effect::StartDeploy {
                network, signer, ..
            },
        ] => {
            assert_eq!(network, "local");
            assert_eq!(signer, &SignerOption::DevAccount);
        }
        other => panic!("expected StartDeploy, got {other:?}"),
    }
}

#[test]
fn a_locked_keystore_cannot_go_on_to_confirm() {
    let (mut state, _) = preview_with_choices();
    press(&mut state, KeyCode::Char('n')); // sepolia: env key, keystore
    press(&mut state, KeyCode::Char('s'));
    assert_eq!(state.target.probe, Probe::Locked);
    press(&mut state, KeyCode::Esc); // back to the env key
    assert_eq!(state.target.signer(), Some(&SignerOption::EnvKey));
    press(&mut state, KeyCode::Char('s'));
    assert_eq!(state.target.probe, Probe::Locked);
    // With the prompt open `d` is the password's; a locked target refuses once it is closed
    // without another signer to go back to.
    state.target.password = None;
    press(&mut state, KeyCode::Char('d'));
    assert_eq!(state.screen, ScreenKind::Preview);
    let n = state.notice.clone().expect("refused");
    assert!(n.text.starts_with("keystore deployer is locked"), "{n:?}");
}

#[test]
fn snapshot_preview_and_confirm_with_the_probe() {
    let (mut state, first) = preview_with_choices();
    press(&mut state, KeyCode::Char('s')); // the dev account
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Down);
    snapshot_both("preview_lenet_connecting", &state);
    answer(&mut state, first.generation + 1, Ok(synthetic_report()));
    snapshot_both("preview_lenet_probed", &state);
    press(&mut state, KeyCode::Char('d'));
    type_text(&mut state, "8e");
    snapshot_both("confirm_probed", &state);
}

// ---- update(): the weight format on Preview ----

#[test]
fn f_chooses_the_weight_format_the_probe_confirm_and_deployment_follow_it() {
    use eternalize::chain::WeightFormat;
    let (mut state, first) = preview_with_choices();
    assert_eq!(first.format, WeightFormat::Compact, "compact by default");
    // The formats were measured against Keras's own predictions (lenet has a truth file).
    let preview = state.preview.as_ref().expect("preview");
    let Loadable::Ready(report) = &preview.formats else {
        panic!("formats not measured: {:?}", preview.formats);
    };
    let names: Vec<&str> = report.formats.iter().map(|f| f.name).collect();
    assert_eq!(names, ["compact", "exact", "int16", "int8"]);
    let text = screen(&state, 120, 40);
    assert!(text.contains("▸compact"), "{text}");
    assert!(text.contains("err vs Keras, 3 samples"), "{text}");
    let int8 = &report.formats[3];
    assert!(
        text.contains(&format!("{:.1e}", int8.max_abs_err)),
        "int8's error is in the table: {text}"
    );

    // f: the next format, probed again for its gas and cost
    let effects = key_with(&mut state, KeyCode::Char('f'), KeyModifiers::NONE);
    let [probe] = probes(&effects)
        .try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("one probe: {v:?}"));
    assert_eq!(probe.format, WeightFormat::Exact);
    assert_eq!(state.target.format, WeightFormat::Exact);
    assert!(screen(&state, 120, 40).contains("▸exact"));
    assert!(
        screen(&state, 80, 24).contains("▸exact 13,920 bytes, 1 chunk, ≈3.0M gas"),
        "the narrow layout shows the chosen format: {}",
        screen(&state, 80, 24)
    );

    // int16, int8, around to compact, and on to int8 again: deployed in int8
    for want in [
        WeightFormat::Int16,
        WeightFormat::Int8,
        WeightFormat::Compact,
        WeightFormat::Exact,
        WeightFormat::Int16,
        WeightFormat::Int8,
    ] {
        press(&mut state, KeyCode::Char('f'));
        assert_eq!(state.target.format, want);
    }
    let generation = state.target.generation;
    answer(&mut state, generation, Ok(synthetic_report()));
    press(&mut state, KeyCode::Char('d'));
    assert_eq!(state.screen, ScreenKind::Confirm);
    let text = screen(&state, 120, 40);
    assert!(text.contains("weights as    int8 (per channel)"), "{text}");
    let expected = state.confirm.as_ref().expect("confirm").expected();
    type_text(&mut state, &expected);
    let effects = key_with(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::StartDeploy {
                format: WeightFormat::Int8,
                ..
            }]
        ),
        "{effects:?}"
    );
}
