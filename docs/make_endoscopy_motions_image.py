"""docs/images/endoscopy_motions.png: the colonoscope camera presets (worlds/endoscopy/scope.py), one
row each, five frames of a two-second clip (0, 0.5, 1, 1.5, 1.9 s) in the same bent lumen at 96×96.

    python docs/make_endoscopy_motions_image.py
"""

from __future__ import annotations

from pathlib import Path

RECIPE = Path(__file__).parents[1] / "benchmarks" / "endoscopy_geometry.yaml"
BASE = ["clip.width=96", "clip.height=96", "clip.frames=24", "device=cpu", "+backend.supersample=2", "camera.fov_deg=120",
        "camera.position=[0.0,0.004,-0.003]", "environment.tube_radius=0.03", "objects.0.count=3",
        "objects.0.placement.x={uniform: [0.03, 0.12]}",
        "environment.lumen={bend_amplitude: 0.015, fold_height: 0.005, taenia_depth: 0.1, radius_variation: 0.1}"]
MOTIONS = ["scope_insertion", "scope_withdrawal", "scope_deflection", "scope_rotation", "scope_closeup", "scope_shake"]
FRAMES = [0, 6, 12, 18, 23]

if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    import synthdata
    from synthdata.motion import Trajectories, rollout
    from synthdata.render import make_backend
    from synthdata.scene import sample_scene

    fig, axes = plt.subplots(len(MOTIONS), len(FRAMES), figsize=(len(FRAMES) * 1.3, len(MOTIONS) * 1.36))
    for row, name in zip(axes, MOTIONS):
        spec = synthdata.load_recipe(RECIPE, [*BASE, f"camera.motion={{name: {name}, params: {{}}}}"])
        rng = np.random.default_rng(3)
        scene = sample_scene(spec, rng)
        traj = rollout(scene, spec.clip.frames, spec.clip.fps, rng)
        pick = [FRAMES[0], *(k + 1 for k in FRAMES), FRAMES[-1] + 2]  # padded indices: the frames and their ends
        sub = Trajectories(object_poses_padded=traj.object_poses_padded[pick],
                           camera_poses_padded=traj.camera_poses_padded[pick], K=traj.K, fps=traj.fps, lens=traj.lens)
        rgb = np.asarray(make_backend(spec.backend, "cpu").render(scene, sub).rgb)
        for ax, img, k in zip(row, rgb, FRAMES):
            ax.imshow(img)
            ax.set_xticks([]), ax.set_yticks([])
            if k == FRAMES[0]:
                ax.set_ylabel(name.removeprefix("scope_"), fontsize=8)
            if name == MOTIONS[0]:
                ax.set_title(f"{k / spec.clip.fps:.1f} s", fontsize=8)
    fig.tight_layout(pad=0.2)
    out = Path(__file__).parent / "images" / "endoscopy_motions.png"
    fig.savefig(out, dpi=100)
    from PIL import Image  # 256 colours: half the bytes, no visible change

    Image.open(out).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                            dither=Image.Dither.NONE).save(out, optimize=True)
    print(out)
