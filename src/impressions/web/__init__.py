"""The local web page (bin/serve): bring a clip, see what a finished run's models heard and where.

It computes features and predictions with the pipeline's own functions, so the page's answer for
a clip is the pipeline's: `runs` loads the models, `features` computes a clip's cache families,
`answer` predicts and maps, `images` draws the maps, `app` is the Flask app, `config` reads the run's config.
"""
