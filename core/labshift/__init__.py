"""Another lab's organoids: align a cohort onto the reference organoids, and check whether a profile looks like
them (lab, platform, tissue) before any ranking. See :func:`core.labshift.prepare.prepare_profiles`."""
