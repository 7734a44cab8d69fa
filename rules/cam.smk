# Class activation maps: where in the spectrogram (or in time) each CAM model heard each trait or class.


rule cam:
    input:
        unpack(cam_inputs),
        code=model_code("cam.py"),
    output:
        galleries=report(
            directory("results/{dataset}/cam/{cam_model}/galleries"),
            patterns=["{output}.png"],
            caption="../report/cam_gallery.rst",
            category="{dataset}",
            subcategory="4. CAM maps",
            labels={"model": "{cam_model}", "figure": "gallery: {output}"},
        ),
        maps="results/{dataset}/cam/{cam_model}/cams.h5",
        localisation="results/{dataset}/cam/{cam_model}/localisation.json",
        profiles=report(
            "results/{dataset}/cam/{cam_model}/profiles.png",
            caption="../report/cam_profiles.rst",
            category="{dataset}",
            subcategory="4. CAM maps",
            labels={"model": "{cam_model}", "figure": "profiles: every output"},
        ),
    log:
        "results/{dataset}/logs/cam/{cam_model}.log",
    benchmark:
        "results/{dataset}/benchmarks/cam/{cam_model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    # One thread: a few dozen clips' maps and their figures, which run beside a training job instead
    # of waiting for two free cores (on 2 cores the three CAM jobs otherwise ran one after another).
    threads: 1
    params:
        settings=model_params,
        entry=model_entry,
        cam=setting("cam"),
        task=task_params,
    script:
        "../scripts/cam.py"


rule attention:
    input:
        unpack(attention_inputs),
        code=model_code("attention.py"),
    output:
        galleries=report(
            directory("results/{dataset}/attention/{attention_model}/galleries"),
            patterns=["{output}.png"],
            caption="../report/attention_gallery.rst",
            category="{dataset}",
            subcategory="4. CAM maps",
            labels={"model": "{attention_model}", "figure": "attention: {output}"},
        ),
        attention="results/{dataset}/attention/{attention_model}/attention.json",
    log:
        "results/{dataset}/logs/attention/{attention_model}.log",
    benchmark:
        "results/{dataset}/benchmarks/attention/{attention_model}.tsv"
    conda:
        "../envs/tensorflow.yaml"
    threads: 1
    params:
        settings=model_params,
        entry=model_entry,
        cam=setting("cam"),
        task=task_params,
    script:
        "../scripts/attention.py"
