"""The Caption step: LP-MusicCaps' transfer model (BART) captioning 10-second windows in a SageMaker Processing Job.

Run it with ``python -m music_captioner``; ``python -m music_captioner.probe`` reports what a local run lacks.
Nothing here imports torch at module load, so the tests run on a plain Python with numpy.
"""
