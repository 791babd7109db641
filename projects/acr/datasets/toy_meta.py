# Copyright (c) ACR-WSSS contributors. All rights reserved.
"""Class names and colours of the synthetic toy dataset.

Kept apart from the generator (:mod:`projects.acr.toy_data`), which only the tools that
write the data import: reading the dataset needs these constants alone.
"""
TOY_CLASSES = ('background', 'ladybird', 'tiger', 'chessboard', 'leaf', 'target')
TOY_PALETTE = ((0, 0, 0), (205, 25, 30), (245, 135, 15), (30, 70, 215), (35, 150, 45),
               (200, 30, 190))
