# Snakemake 9.27's job-rate limiter (--max-jobs-per-timespan, default 100/1s) starts a 1 s timer
# that re-arms itself each time a job finishes, so after n jobs the scheduler runs n times a
# second, statting every ready job's inputs: late in a local run its main process takes most of a
# core from the jobs (bench/scheduler_load.py measures it). Local jobs need no rate limit; a
# cluster run keeps it.


onstart:
    if workflow.local_exec:
        workflow.scheduler.job_rate_limiter = None
