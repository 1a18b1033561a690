# Stage 6: each study's results table, its runs' errors beside the paper's (CSV, Markdown and
# the HTML page the report shows inline), and how each surface of a study was computed.


rule table:
    input:
        study_metrics,
    output:
        csv=TABLE.replace("{ext}", "csv"),
        md=TABLE.replace("{ext}", "md"),
        html=in_report(
            TABLE.replace("{ext}", "html"),
            "table",
            "table",
            {"table": "test error vs. the paper"},
            category=lambda wildcards: STUDIES[wildcards.study],
        ),
    log:
        f"{LOGS}/table/{{study}}.log",
    benchmark:
        f"{BENCHMARKS}/table/{{study}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=lambda wildcards: " ".join(study_runs(wildcards)),
        paper=study_paper_errors,  # the caption's numbers
    shell:
        "landscape table --metrics {input} --models {params.models}"
        " --out-csv {output.csv} --out-md {output.md} --out-html {output.html} > {log} 2>&1"


# Per-surface provenance: grid, data, precision, device and time of every surface, curve and
# map of a study, read from the attributes each sweep recorded.
rule provenance:
    input:
        study_surfaces,
    output:
        csv=PROVENANCE.replace("{ext}", "csv"),
        html=in_report(
            PROVENANCE.replace("{ext}", "html"),
            "provenance",
            "provenance",
            {"table": "grid, data, precision, device, time per surface"},
            category=lambda wildcards: STUDIES[wildcards.study],
        ),
    log:
        f"{LOGS}/provenance/{{study}}.log",
    benchmark:
        f"{BENCHMARKS}/provenance/{{study}}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        models=study_surface_names,
    shell:
        "landscape provenance --surfaces {input} --models {params.models}"
        " --out-csv {output.csv} --out-html {output.html} > {log} 2>&1"
