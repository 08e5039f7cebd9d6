"""Which notebook regenerates which file of figures/, what it shows, and where it stands in the paper
(Chen et al. 2018, "Lip Movements Generation at a Glance", ECCV): a figure or table of the paper, or
"new in this repository". `tools/run_notebooks.py` prints this index after a run; the README's
figure table is `python tools/figure_index.py` (a test checks that the two agree and that every file
in figures/ is listed).

The paper's figures referred to: Fig. 2 (the full model), Fig. 6 (generated lips of unseen speakers
beside the ground truth); its tables: Table 1 (datasets), Table 2 (ablation on GRID), Table 3
(comparison on GRID, LDC and LRW)."""
from __future__ import annotations

NEW = "new in this repository"

FIGURES = {   # file: (notebook, what it shows, in the paper)
    "data_utterance.png":              ("01_data_preparation", "speech, LMS, mouth opening with the lag-shifted b/p/m onsets of one sentence", NEW),
    "data_sample_strip.png":           ("01_data_preparation", "lip-frame strip of one sentence (embedded corpus) with its landmarks", NEW),
    "data_speakers.png":               ("01_data_preparation", "the 32 embedded speakers", NEW),
    "data_training_example.png":       ("01_data_preparation", "one training example: s, p, v, v_mismatch", NEW + " (the inputs of Chen et al. 2018, Fig. 2)"),
    "delay_recovered_vs_injected.png": ("02_av_delay_analysis", "the authors' delay estimator against the known injected lag", NEW),
    "delay_histograms.png":            ("02_av_delay_analysis", "best-lag histograms: ours beside the authors' GRID counts from their plotting script", NEW + " (the authors' counts are from their code, not a paper figure)"),
    "delay_mean_curves.png":           ("02_av_delay_analysis", "correlation vs lag, pooled over videos", NEW),
    "model_lms.png":                   ("03_model_walkthrough", "audio front end: the LMS of a sentence and of one clip", "Chen et al. 2018, Fig. 2 (its input s_lms only)"),
    "model_architecture.png":          ("03_model_walkthrough", "the full model drawn from one forward pass of the real modules, with shapes", "Chen et al. 2018, Fig. 2"),
    "model_fusion.png":                ("03_model_walkthrough", "the fusion layout T x F x F (random-weight demonstration)", "Chen et al. 2018, Fig. 2 (its audio-identity fusion box)"),
    "model_flow_vs_farneback.png":     ("03_model_walkthrough", "optical flow F(v): ours vs OpenCV Farneback", NEW),
    "model_corr_collapse.png":         ("03_model_walkthrough", "correlation-loss collapse: the authors' loss vs ours", NEW),
    "training_loss_curves.png":        ("04_training", "the full model's training (cpu2 recipe), from its logs: each loss term weighted as it enters L, validation LMD and opening r", NEW),
    "training_samples_over_time.png":  ("04_training", "samples the full model's training saved (cpu2 recipe; frames 0, 5, 10, 15 of a validation clip)", NEW),
    "training_generated_vs_real.png":  ("04_training", "the full model (cpu2 recipe) on a held-out speaker", NEW + " (the layout of Chen et al. 2018, Fig. 6)"),
    "training_learning_curves.png":    ("04_training", "validation LMD and opening r against the CPU-minutes each shipped run spent (the full model and both baselines, every seed), with the static and average-mouth references", NEW),
    "training_lr_search.png":          ("04_training", "the baselines' learning-rate search: validation LMD and opening r against CPU-minutes, one curve per learning rate tried", NEW),
    "training_levers.png":             ("04_training", "levers tried against the cpu2 recipe: validation LMD and opening r against the training clips seen, each lever beside its base run (same seed)", NEW),
    "training_d_phase.png":            ("04_training", "the adversarial phase three ways (cpu2's last 300 steps, none, L_gen x 0.25) in runs that are one run up to the branch point: validation LMD, opening r and CPBD", NEW),
    "training_warmup_probe.png":       ("04_training", "appendix, beyond the paper: validation curves of the cpu recipe and its later-discriminator probes; their test-speaker difference, paired", NEW),
    "ablation_table.png":              ("05_ablations", "the shipped ablation runs in the paper's order (a)-(i), mean and 95 % interval, a second seed where shipped, beside the paper's values", "Chen et al. 2018, Table 2"),
    "ablation_explorer_default.png":   ("05_ablations", "explorer default view (the shipped ablation runs on a held-out clip)", NEW),
    "eval_comparison.png":             ("06_metric_evaluation", "shipped models and controls on the held-out speakers, the same rows in every panel: LMD and opening r with own and another sentence's audio, mouth PSNR / SSIM, CPBD", "Chen et al. 2018, Table 3 (GRID rows; the controls are new)"),
    "eval_table.md":                   ("06_metric_evaluation", "our table with intervals, the targets, and the paper's Table 3 with its orderings here", "Chen et al. 2018, Table 3"),
    "eval_qualitative_0.png":          ("06_metric_evaluation", "qualitative frame grid (shipped models, shuffled audio, static)", "Chen et al. 2018, Fig. 6"),
    "eval_qualitative_1.png":          ("06_metric_evaluation", "qualitative frame grid, second speaker", "Chen et al. 2018, Fig. 6"),
    "eval_opening_curves.png":         ("06_metric_evaluation", "mouth opening over time: real, generated with its own audio and with another sentence's", NEW),
    "eval_pitfalls.png":               ("06_metric_evaluation", "uint8 PSNR wrap-around, LMD sum vs mean", NEW),
    "real_face_astronaut.png":         ("06_metric_evaluation", "shipped full model on a real photo it never saw: crop, face and warp modes", NEW),
    "real_face_photo_style.png":       ("06_metric_evaluation", "the full model trained on the default vs the photographic corpus style, on the same real photo", NEW),
}


def markdown_table() -> str:
    """The README's figure table."""
    rows = ["| file | notebook | what it shows | in the paper |", "|---|---|---|---|"]
    for name, (nb, what, paper) in FIGURES.items():
        rows.append(f"| [`{name}`](figures/{name}) | {nb} | {what} | {paper} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
