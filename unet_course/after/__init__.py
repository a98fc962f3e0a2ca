"""What came after U-Net (lesson 10), built from the course's pieces.

- ``unetpp``: U-Net++ (Zhou et al. 2018/2019): nested dense skips X(i,j), deep supervision,
  pruned inference at levels L1-L4;
- ``deeplab``: a small DeepLabV3+ (Chen et al. 2018): atrous separable convs, ASPP, decoder;
- ``dice``: U-Net++'s loss, binary cross-entropy + Dice, and the deep-supervision average;
- ``fit``: training and whole-image prediction for ANY of these networks with the course's
  tiles, augmentation, targets and losses: a thin call of the U-Net's own loop,
  ``unet_course.train.train``;
- ``transfer``: pre-trained (synthetic cells) vs from scratch, fine-tuned on ISBI slices;
- ``maskrcnn``: torchvision's Mask R-CNN (He et al. 2017), optional: skipped with a clear
  message where torchvision does not work.
"""
from .deeplab import ASPP, DeepLabV3Plus, SeparableConv  # noqa: F401
from .dice import bce_dice_loss, deep_supervision_loss, dice_coefficient, dice_loss  # noqa: F401
from .fit import FitResult, fit, predict_instances, predict_probabilities, targets_for  # noqa: F401
from .unetpp import UNetPlusPlus, nested_node, node_names, unetpp_parameter_count  # noqa: F401

__all__ = ["UNetPlusPlus", "nested_node", "node_names", "unetpp_parameter_count",
           "DeepLabV3Plus", "ASPP", "SeparableConv", "dice_coefficient", "dice_loss",
           "bce_dice_loss", "deep_supervision_loss", "fit", "FitResult", "targets_for",
           "predict_probabilities", "predict_instances"]
