# Class activation maps: where in the spectrogram (or in time) each CAM model heard each trait.


rule cam:
    input:
        unpack(cam_inputs),
        code=model_code("cam.py"),
    output:
        **{
            f"gallery_{trait}": report(
                f"results/{{dataset}}/cam/{{cam_model}}/gallery_{trait}.png",
                caption="../report/cam_gallery.rst",
                category="4. CAM maps",
                subcategory="{cam_model}",
                labels={"model": "{cam_model}", "figure": f"gallery: {trait}"},
            )
            for trait in TRAITS
        },
        maps="results/{dataset}/cam/{cam_model}/cams.h5",
        localisation="results/{dataset}/cam/{cam_model}/localisation.json",
        profiles=report(
            "results/{dataset}/cam/{cam_model}/profiles.png",
            caption="../report/cam_profiles.rst",
            category="4. CAM maps",
            subcategory="{cam_model}",
            labels={"model": "{cam_model}", "figure": "profiles: all traits"},
        ),
    log:
        "results/{dataset}/logs/cam/{cam_model}.log",
    benchmark:
        "results/{dataset}/benchmarks/cam/{cam_model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: 2
    params:
        settings=model_params,
        entry=model_entry,
        cam=config["cam"],
    script:
        "../scripts/cam.py"
