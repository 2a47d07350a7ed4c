"""The demo store: a realistic hardware-and-garden general store till database.

``build_demo_store`` writes a new SQLite file in the reference till schema
(:data:`possuggest.till.schema.REFERENCE_DDL`) holding about two years of sales, generated
from one shopping model (:class:`DemoStoreModel`):

* a catalogue of ~480 products in 14 categories, with good/better/best tiers in many
  families (mowers, drills, grills, paint, trimmers, pressure washers, ladders, heaters, ...);
* every sale is built from one or two shopping *missions* (buy a mower, paint a room, top up
  on screws and batteries, ...). A mission picks its core item(s) -- for a tiered family ONE
  tier, rarely two -- and then each of its accessories with its own probability, which may
  depend on the tier chosen (only pro mowers get the mulching kit). Everyday filler items with
  a Zipf-like long tail and uniform noise items are added on top;
* missions are seasonal (mowers in spring and summer, grills in summer, heaters and snow
  shovels in winter), weekends are busier, the store opens 8:00-20:00;
* a real till's mess: voided lines, returns (mostly in their own sale), voided sales, qty > 1
  on fasteners and paint, discounted lines, out-of-stock and discontinued products.

The bulk history is generated with numpy, one pass per mission rather than per sale, so a
million sales take seconds. :meth:`DemoStoreModel.sample_sale` runs the very same generator
for a single sale, so the till simulator rings up live sales from the same model.

Everything is deterministic by seed: the same ``(sales, seed, end_date)`` gives identical
table contents.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.errors import Cancelled, PossuggestError
from possuggest.till.schema import REFERENCE_DDL

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]
CancelledFn = Callable[[], bool]

HISTORY_DAYS = 730
OPEN_HOUR = 8
CLOSE_HOUR = 20
REGISTERS = ("1", "2", "3", "4")
CASHIERS = tuple(f"C{i:02d}" for i in range(1, 11))
LOYALTY_SHARE = 0.25
LOYALTY_POOL = 4000

# Shopping model constants (shared by the bulk builder and sample_sale).
SECOND_MISSION_P = 0.20      # a sale holds a second, independent mission
FILLER_LAMBDA = 0.75         # everyday items added to any sale (Poisson mean)
NOISE_P = 0.10               # one uniformly random product ("impulse")
QTY_SCALE = 0.6              # scales each product's chance of a qty > 1 line
DISCOUNT_P = 0.03            # share of lines sold below list price
DISCOUNTS = (0.90, 0.85, 0.80, 0.50)
DISCOUNT_WEIGHTS = (0.50, 0.25, 0.20, 0.05)

# Till mess (bulk history only).
RETURN_SALE_P = 0.011        # sales that are a return desk refund
EXCHANGE_P = 0.001           # ordinary sales that also refund one earlier item
VOID_SALE_P = 0.005          # sales cancelled at the till (status 'void')
VOID_LINE_P = 0.010          # lines scanned by mistake and voided

_INSERT_CHUNK = 200_000

# --------------------------------------------------------------------------------------------
# Catalogue: [Category] then ``SKU | name | price | family | qty`` (family and qty optional).
# ``qty`` is ``q<p>x<max>``: a line sells 2..max units with probability p.
# --------------------------------------------------------------------------------------------
_CATALOGUE = """
[Garden Power]
MOW-STD        | Petrol Lawn Mower 41cm                      | 229.00 | mowers
MOW-DLX        | Self-Propelled Petrol Mower 46cm            | 379.00 | mowers
MOW-PRO        | Pro Self-Propelled Mower 53cm               | 699.00 | mowers
MOW-CATCH      | Grass Catcher Bag                           |  39.00
MOW-MULCH      | Mulching Kit 53cm                           |  59.00
MOW-BLADE-41   | Mower Blade 41cm                            |  19.99
MOW-BLADE-46   | Mower Blade 46cm                            |  22.99
MOW-BLADE-53   | Mower Blade 53cm                            |  27.99
MOW-COVER      | Lawn Mower Cover                            |  24.99
OIL-SAE30      | 4-Stroke Engine Oil SAE30 600ml             |   8.99 |              | q.15x3
OIL-2T         | 2-Stroke Oil 1L                             |  11.99
PLUG-SPK       | Spark Plug RJ19LM                           |   5.99
FUEL-CAN-5L    | Fuel Can 5L                                 |  16.99
TRM-CORD       | Cordless Grass Trimmer 18V                  |  89.00 | trimmers
TRM-PET        | Petrol Line Trimmer 25cc                    | 169.00 | trimmers
TRM-PRO        | Pro Brushcutter 33cc                        | 319.00 | trimmers
TRM-SPOOL      | Trimmer Spool and Line 18V                  |   7.99 |              | q.20x3
TRM-LINE       | Trimmer Line 2.4mm 15m                      |   9.99
TRM-HARN       | Brushcutter Shoulder Harness                |  24.99
BLW-ELEC       | Electric Leaf Blower 2600W                  |  59.00 | leaf blowers
BLW-CORD       | Cordless Leaf Blower 36V                    | 139.00 | leaf blowers
BLW-PET        | Petrol Backpack Blower 43cc                 | 279.00 | leaf blowers
HDG-ELEC       | Electric Hedge Trimmer 50cm                 |  54.00 | hedge trimmers
HDG-CORD       | Cordless Hedge Trimmer 18V 55cm             | 119.00 | hedge trimmers
HDG-PET        | Petrol Hedge Trimmer 60cm                   | 229.00 | hedge trimmers
CHN-ELEC       | Electric Chainsaw 35cm                      |  99.00 | chainsaws
CHN-PET        | Petrol Chainsaw 40cm                        | 219.00 | chainsaws
CHN-OIL        | Chain and Bar Oil 1L                        |   7.99
CHN-CHAIN      | Replacement Saw Chain 40cm                  |  19.99
CHN-FILE       | Chainsaw Sharpening File Kit                |  12.99
PW-1700        | Pressure Washer 1700W 120bar                | 119.00 | pressure washers
PW-2100        | Pressure Washer 2100W 140bar                | 189.00 | pressure washers
PW-PRO         | Pressure Washer 2500W 160bar Pro            | 329.00 | pressure washers
PW-DET         | Patio and Deck Detergent 2.5L               |  13.99 |              | q.15x3
PW-PATIO       | Rotary Patio Cleaner Attachment             |  39.00
PW-HOSE        | Pressure Washer Extension Hose 8m           |  34.99
PW-CAR         | Car Cleaning Kit for Pressure Washer        |  29.99

[Garden Care]
SEED-GRASS-1   | Hard-Wearing Grass Seed 1kg                 |  11.99 | grass seed   | q.15x3
SEED-GRASS-5   | Hard-Wearing Grass Seed 5kg                 |  24.99 | grass seed
SEED-GRASS-SH  | Shady Lawn Grass Seed 1kg                   |  13.99 | grass seed
FEED-LAWN      | Lawn Feed 100m2                             |  12.99 | lawn care    | q.15x3
FEED-WEED      | Lawn Weed and Feed 150m2                    |  17.99 | lawn care
FEED-MOSS      | Lawn Moss Killer 200m2                      |  14.99 | lawn care
SPREADER       | Lawn Seed and Feed Spreader                 |  29.99
SEED-TOM       | Tomato Seeds Moneymaker                     |   2.49 | veg seeds
SEED-CAR       | Carrot Seeds Early Nantes                   |   1.99 | veg seeds
SEED-LET       | Lettuce Seeds Little Gem                    |   1.99 | veg seeds
SEED-BEAN      | Runner Bean Seeds                           |   2.49 | veg seeds
SEED-PEA       | Pea Seeds Kelvedon Wonder                   |   2.29 | veg seeds
SEED-COUR      | Courgette Seeds Black Beauty                |   2.49 | veg seeds
SEED-CUC       | Cucumber Seeds Marketmore                   |   2.79 | veg seeds
SEED-BASIL     | Basil Seeds Sweet Genovese                  |   1.79 | veg seeds
SEED-PARS      | Parsley Seeds Plain Leaved                  |   1.79 | veg seeds
SEED-SUN       | Sunflower Seeds Giant Single                |   1.99 | flower seeds
SEED-SWPEA     | Sweet Pea Seeds Mixed                       |   2.29 | flower seeds
SEED-RAD       | Radish Seeds French Breakfast               |   1.49 | veg seeds
SEED-TRAY      | Seed Trays with Lids 3pk                    |   7.99
PLANT-LABEL    | Plant Labels 50pk                           |   2.99
PROPAGATOR     | Heated Propagator                           |  29.99
COMP-MP-50     | Multi-Purpose Compost 50L                   |   6.99 | compost      | q.35x4
COMP-JI2       | John Innes No.2 Compost 25L                 |   7.49 | compost      | q.20x3
GROWBAG        | Tomato Grow Bag                             |   3.99 |              | q.35x4
BARK-70        | Bark Mulch 70L                              |   8.99 |              | q.35x5
POT-20         | Plastic Plant Pot 20cm                      |   2.49 | plant pots   | q.40x6
POT-30         | Plastic Plant Pot 30cm                      |   4.49 | plant pots   | q.30x4
POT-40         | Terracotta-Look Pot 40cm                    |  12.99 | plant pots
FEED-TOM       | Tomato Feed 1L                              |   5.99
FEED-AP        | All-Purpose Plant Food 1kg                  |   6.49
FEED-ROSE      | Rose Feed 1kg                               |   6.99
BONEMEAL       | Bonemeal 1.5kg                              |   4.99
HOSE-15        | Garden Hose 15m                             |  19.99 | hoses
HOSE-30        | Garden Hose 30m Anti-Kink                   |  34.99 | hoses
HOSE-REEL      | Hose Reel with 30m Hose                     |  64.99 | hoses
HOSE-GUN       | Multi-Pattern Spray Gun                     |   9.99
HOSE-GUN-3     | Spray Gun 3-Pattern                         |   7.99
HOSE-CONN      | Hose Connector Set 4pc                      |   7.99
HOSE-TAPC      | Hose Tap Connector                          |   3.49
SPRINKLER      | Oscillating Sprinkler                       |  14.99
WCAN-10        | Watering Can 10L                            |   7.99
SPADE          | Digging Spade                               |  24.99
FORK           | Digging Fork                                |  24.99
RAKE           | Garden Rake                                 |  14.99
RAKE-LAWN      | Lawn Rake                                   |  12.99
HOE            | Dutch Hoe                                   |  13.99
TROWEL         | Hand Trowel                                 |   6.99
HANDFORK       | Hand Fork                                   |   6.99
SECATEURS      | Bypass Secateurs                            |  14.99 | secateurs
SECATEURS-PRO  | Pro Bypass Secateurs                        |  29.99 | secateurs
LOPPERS        | Bypass Loppers                              |  24.99
SHEARS         | Hedge Shears                                |  19.99
WBARROW        | Wheelbarrow 85L                             |  69.00
LEAF-BAG       | Garden Waste Bag 120L                       |   5.99 |              | q.25x3
GLV-GARDEN     | Gardening Gloves                            |   4.99
GLV-THORN      | Thornproof Gardening Gloves                 |   9.99
WEED-RTU       | Weed Killer Ready-to-Use 1L                 |   7.99 | weed killer
WEED-CONC      | Weed Killer Concentrate 500ml               |  12.99 | weed killer
SLUG-PELL      | Slug Pellets 650g                           |   5.99
BUG-SPRAY      | Bug Killer Spray 1L                         |   6.99
ANT-POWDER     | Ant Killer Powder 300g                      |   4.49
SPRAYER-5L     | Pressure Sprayer 5L                         |  17.99
TWINE          | Garden Twine 100m                           |   2.99
CANES          | Bamboo Canes 1.5m 10pk                      |   4.99 |              | q.25x3

[Power Tools]
DRL-18V-BASIC  | Cordless Drill Driver 18V 1.5Ah             |  59.00 | drills
DRL-18V-COMBI  | Cordless Combi Drill 18V 2x2Ah              | 119.00 | drills
DRL-18V-PRO    | Brushless Combi Drill 18V 2x5Ah             | 229.00 | drills
DRL-BITS       | Drill and Driver Bit Set 50pc               |  19.99
BITS-MAS       | Masonry Drill Bit Set 5pc                   |   9.99
BITS-WOOD      | Wood Drill Bit Set 8pc                      |   9.99
BITS-HSS       | HSS Metal Drill Bit Set 13pc                |  14.99
BAT-18V-2AH    | 18V Battery 2.0Ah                           |  39.00
BAT-18V-5AH    | 18V Battery 5.0Ah                           |  79.00
BAT-18V-15     | 18V Battery 1.5Ah                           |  34.00
CHG-18V        | 18V Fast Charger                            |  29.00
IMP-18V        | Cordless Impact Driver 18V                  |  89.00
SAW-CIRC-1200  | Circular Saw 1200W 165mm                    |  69.00 | circular saws
SAW-CIRC-PRO   | Circular Saw 1800W 190mm Pro                | 149.00 | circular saws
BLD-CIRC-24T   | Circular Saw Blade 24T                      |  12.99
BLD-CIRC-40T   | Circular Saw Blade 40T Fine Finish          |  16.99
JIG-500        | Jigsaw 500W                                 |  39.00 | jigsaws
JIG-750        | Pendulum Jigsaw 750W                        |  79.00 | jigsaws
BLD-JIG        | Jigsaw Blade Set 10pc                       |   8.99
SND-DETAIL     | Detail Sander 180W                          |  29.00 | sanders
SND-ORBIT      | Sheet Sander 250W                           |  49.00 | sanders
SND-RANDOM     | Random Orbit Sander 125mm                   |  89.00 | sanders
SHEET-DETAIL   | Detail Sanding Sheets 20pk                  |   7.99
SHEET-ORBIT    | Orbital Sanding Sheets 20pk                 |   8.99
DISC-ROS       | Random Orbit Sanding Discs 25pk             |  11.99
GRD-115        | Angle Grinder 115mm 750W                    |  34.00 | angle grinders
GRD-125        | Angle Grinder 125mm 1200W                   |  79.00 | angle grinders
DISC-CUT       | Metal Cutting Discs 10pk                    |   9.99
DISC-FLAP      | Flap Discs 5pk                              |  12.99
MULTI-TOOL     | Oscillating Multi-Tool 300W                 |  59.00
MT-BLADES      | Multi-Tool Blade Set 10pc                   |  19.99
HEAT-GUN       | Heat Gun 2000W                              |  29.99
GLUE-GUN       | Hot Glue Gun                                |  14.99
GLUE-STICK     | Hot Glue Sticks 24pk                        |   4.99
ROTARY         | Rotary Tool Kit 135W                        |  49.00
ROUTER         | Plunge Router 1200W                         |  99.00
PLANER         | Electric Planer 750W                        |  59.00

[Hand Tools]
HAM-16         | Claw Hammer 16oz                            |  12.99 | hammers
HAM-20         | Fibreglass Claw Hammer 20oz                 |  19.99 | hammers
MALLET         | Rubber Mallet                               |   8.99
SDR-SET6       | Screwdriver Set 6pc                         |  12.99
SDR-PREC       | Precision Screwdriver Set 20pc              |  19.99
TAPE-5M        | Tape Measure 5m                             |   7.99 | tape measures
TAPE-8M        | Tape Measure 8m                             |  11.99 | tape measures
LEVEL-60       | Spirit Level 60cm                           |  12.99 | spirit levels
LEVEL-120      | Spirit Level 120cm                          |  22.99 | spirit levels
KNIFE          | Retractable Utility Knife                   |   6.99
KNIFE-BLD      | Utility Knife Blades 10pk                   |   3.49
PLIERS-SET     | Pliers Set 3pc                              |  17.99
WRENCH-ADJ     | Adjustable Wrench 250mm                     |  12.99
SOCKET-SET     | Socket Set 40pc                             |  34.99
HEX-KEYS       | Hex Key Set 9pc                             |   6.99
HACKSAW        | Hacksaw 300mm                               |  11.99
HACK-BLD       | Hacksaw Blades 5pk                          |   4.99
HANDSAW        | Hardpoint Handsaw 550mm                     |  12.99
CHISELS        | Wood Chisel Set 4pc                         |  19.99
CLAMP-F        | F-Clamps 2pk                                |  14.99
STUD-FIND      | Stud and Cable Detector                     |  19.99
PRY-BAR        | Wrecking Bar 600mm                          |  11.99
TOOLBOX        | Toolbox 19in                                |  17.99
TOOL-BELT      | Tool Belt with Pouches                      |  19.99
PENCILS        | Carpenter Pencils 3pk                       |   1.99
SQUARE         | Try Square 250mm                            |   8.99
FILE-SET       | Metal File Set 3pc                          |   9.99
GLV-WORK       | Work Gloves                                 |   3.99 |              | q.10x3
GLV-NITRILE    | Nitrile Gloves 100pk                        |   9.99
SAFE-GOGG      | Safety Goggles                              |   5.99
EAR-DEF        | Ear Defenders                               |   9.99
MASK-FFP2      | Dust Masks FFP2 10pk                        |   9.99
GLV-CHAIN      | Cut-Resistant Chainsaw Gloves               |  24.99
HIVIS          | Hi-Vis Vest                                 |   4.99
KNEE-PADS      | Knee Pads                                   |  12.99
BOOTS-S1P      | Safety Boots S1P                            |  44.99

[Ladders & Storage]
LAD-STEP3      | 3-Tread Steel Step Ladder                   |  39.00 | ladders
LAD-STEP5      | 5-Tread Aluminium Step Ladder               |  69.00 | ladders
LAD-EXT        | Aluminium Extension Ladder 2x3.6m           | 149.00 | ladders
LAD-STAB       | Ladder Stand-Off Stabiliser                 |  29.99
LAD-TRAY       | Ladder Paint Tray                           |   9.99
STEP-STOOL     | Folding Step Stool                          |  19.99
BOX-35         | Storage Box 35L with Lid                    |   8.99 | storage boxes | q.35x4
BOX-60         | Storage Box 60L with Lid                    |  12.99 | storage boxes | q.30x4
SHELF-5        | Steel Shelving Unit 5-Tier                  |  49.00
HOOK-SET       | Garage Wall Hook Set 6pc                    |  14.99
BIKE-HOOK      | Bike Storage Hook                           |   4.99 |              | q.30x3
ORGANISER      | Small Parts Organiser 18 Drawers            |  14.99
SACK-TRUCK     | Folding Sack Truck                          |  39.00
RATCHET        | Ratchet Straps 4pk                          |  14.99
BUNGEE         | Bungee Cords 10pc                           |   7.99
TARP           | Heavy-Duty Tarpaulin 3x4m                   |  12.99

[Fasteners]
SCR-3.0X16     | Wood Screws 3.0x16mm 200pk                  |   4.49 | wood screws  | q.15x3
SCR-3.5X25     | Wood Screws 3.5x25mm 200pk                  |   4.99 | wood screws  | q.15x3
SCR-3.5X30     | Wood Screws 3.5x30mm 200pk                  |   5.49 | wood screws  | q.15x3
SCR-4.0X30     | Wood Screws 4.0x30mm 200pk                  |   5.99 | wood screws  | q.15x3
SCR-4.0X40     | Wood Screws 4.0x40mm 200pk                  |   6.49 | wood screws  | q.20x4
SCR-4.0X50     | Wood Screws 4.0x50mm 200pk                  |   6.99 | wood screws  | q.15x3
SCR-5.0X50     | Wood Screws 5.0x50mm 100pk                  |   7.99 | wood screws  | q.15x3
SCR-5.0X70     | Wood Screws 5.0x70mm 100pk                  |   9.49 | wood screws  | q.15x3
SCR-5.0X80     | Wood Screws 5.0x80mm 100pk                  |   9.99 | wood screws  | q.15x3
SCR-6.0X100    | Wood Screws 6.0x100mm 50pk                  |  12.99 | wood screws  | q.10x3
SCR-DRY-25     | Drywall Screws 3.5x25mm 500pk               |   8.99 |              | q.15x3
SCR-DRY-35     | Drywall Screws 3.5x35mm 500pk               |   9.99 |              | q.15x3
SCR-DECK       | Decking Screws 4.5x60mm 250pk               |  14.99 |              | q.30x4
SCR-CONC       | Concrete Screws 7.5x100mm 10pk              |   8.99 |              | q.20x3
NAIL-PANEL     | Panel Pins 25mm 100g                        |   2.49 | nails        | q.15x3
NAIL-OVAL-40   | Oval Nails 40mm 500g                        |   3.99 | nails        | q.15x3
NAIL-OVAL-50   | Oval Nails 50mm 500g                        |   3.99 | nails        | q.15x3
NAIL-RW-75     | Round Wire Nails 75mm 500g                  |   4.49 | nails        | q.15x3
NAIL-RW-100    | Round Wire Nails 100mm 1kg                  |   6.99 | nails        | q.15x3
NAIL-CLOUT     | Clout Nails 30mm 500g                       |   3.99 | nails        | q.15x3
NAIL-MASONRY   | Masonry Nails 50mm 100pk                    |   4.99 | nails
PLUGS-YEL      | Wall Plugs Yellow 5mm 100pk                 |   1.99 | wall plugs   | q.15x3
PLUGS-RED      | Wall Plugs Red 6mm 100pk                    |   1.99 | wall plugs   | q.20x3
PLUGS-BRN      | Wall Plugs Brown 7mm 100pk                  |   2.29 | wall plugs   | q.15x3
PLUGS-BLUE     | Wall Plugs Blue 10mm 50pk                   |   2.49 | wall plugs
PLUGS-PB       | Plasterboard Fixings 25pk                   |   4.99 | wall plugs   | q.15x3
PLUGS-ASST     | Wall Plug Assortment 300pc                  |   7.99 | wall plugs
BOLT-M6X40     | Hex Bolts M6x40mm 10pk                      |   2.99 | bolts        | q.20x4
BOLT-M8X50     | Hex Bolts M8x50mm 10pk                      |   3.99 | bolts        | q.20x4
BOLT-M8X80     | Hex Bolts M8x80mm 10pk                      |   4.99 | bolts        | q.20x4
BOLT-M10X80    | Hex Bolts M10x80mm 5pk                      |   4.99 | bolts        | q.20x4
BOLT-COACH     | Coach Bolts M8x100mm 10pk                   |   5.99 | bolts        | q.20x4
NUT-WASH       | Nuts and Washers Assortment 400pc           |   7.99
ROD-M8         | Threaded Rod M8 1m                          |   2.99 |              | q.30x4
HOOK-CUP       | Cup Hooks 10pk                              |   1.99
SCREW-EYES     | Screw Eyes 10pk                             |   1.99
PIC-HOOKS      | Picture Hooks 20pk                          |   2.49
ADH-HOOKS      | Self-Adhesive Hooks 6pk                     |   3.99
HINGE-75       | Butt Hinges 75mm 2pk                        |   3.49 | hinges       | q.30x3
HINGE-100      | Butt Hinges 100mm 2pk                       |   4.99 | hinges       | q.30x3
HINGE-GATE     | Heavy Gate Hinges 2pk                       |   9.99
HINGE-T300     | T-Hinges 300mm 2pk                          |   7.99
BRACE-50       | Corner Braces 50mm 4pk                      |   2.99 | brackets     | q.30x4
BRKT-SHELF     | Shelf Brackets 200mm 2pk                    |   3.99 | brackets     | q.30x3
JOIST-HANGER   | Joist Hanger 47x100mm                       |   2.49 |              | q.40x8
MEND-PLATE     | Mending Plates 4pk                          |   2.49 |              | q.25x3
CABLE-TIE-200  | Cable Ties 200mm 100pk                      |   2.49 | cable ties
CABLE-TIE-300  | Cable Ties 300mm 100pk                      |   3.99 | cable ties
GLUE-WOOD      | Wood Glue 250ml                             |   4.99
SUPERGLUE      | Superglue 3g                                |   2.49
GRAB-ADH       | Grab Adhesive 310ml                         |   5.99 |              | q.20x3
EPOXY          | Epoxy Adhesive 2x12ml                       |   4.99
TAPE-DUCT      | Duct Tape 50mm x 50m                        |   5.99

[Paint & Decor]
PNT-EMUL-STD   | Interior Emulsion White 5L                  |  22.99 | interior paint | q.30x3
PNT-EMUL-DLX   | Premium Matt Emulsion White 5L              |  36.99 | interior paint | q.30x3
PNT-EMUL-PRO   | Trade Durable Matt Emulsion White 5L        |  59.99 | interior paint | q.30x3
PNT-COL-SAGE   | Matt Emulsion Sage Green 2.5L               |  18.99 | colour emulsion | q.20x2
PNT-COL-GREY   | Matt Emulsion Dove Grey 2.5L                |  18.99 | colour emulsion | q.20x2
PNT-COL-NAVY   | Matt Emulsion Midnight Navy 2.5L            |  18.99 | colour emulsion | q.20x2
PNT-COL-CREAM  | Matt Emulsion Soft Cream 2.5L               |  18.99 | colour emulsion | q.20x2
PNT-COL-MAG    | Matt Emulsion Magnolia 2.5L                 |  17.99 | colour emulsion | q.20x2
PNT-COL-TERRA  | Matt Emulsion Terracotta 2.5L               |  18.99 | colour emulsion | q.20x2
PNT-COL-BLUSH  | Matt Emulsion Blush Pink 2.5L               |  18.99 | colour emulsion | q.20x2
PNT-COL-DUCK   | Matt Emulsion Duck Egg Blue 2.5L            |  18.99 | colour emulsion | q.20x2
PNT-COL-OLIVE  | Matt Emulsion Olive 2.5L                    |  18.99 | colour emulsion | q.20x2
PNT-COL-CHAR   | Matt Emulsion Charcoal 2.5L                 |  18.99 | colour emulsion | q.20x2
PNT-COL-OCHRE  | Matt Emulsion Ochre 2.5L                    |  18.99 | colour emulsion | q.20x2
PNT-COL-STONE  | Matt Emulsion Warm Stone 2.5L               |  18.99 | colour emulsion | q.20x2
PNT-TEST       | Paint Tester Pot 75ml                       |   2.49 |              | q.60x5
PNT-CEIL       | Ceiling Paint White 5L                      |  19.99
PNT-GLOSS      | Gloss Paint White 750ml                     |  12.99 | trim paint
PNT-SATIN      | Satinwood Paint White 750ml                 |  14.99 | trim paint
PNT-PRIMER     | Primer Undercoat 750ml                      |  11.99
PNT-MAS-STD    | Smooth Masonry Paint White 10L              |  34.99 | masonry paint | q.20x3
PNT-MAS-DLX    | Weatherproof Masonry Paint White 10L        |  54.99 | masonry paint | q.20x3
FNC-BRN        | Fence and Shed Paint Rich Brown 5L          |  11.99 | fence paint  | q.40x4
FNC-GRN        | Fence and Shed Paint Forest Green 5L        |  11.99 | fence paint  | q.40x4
FNC-GRY        | Fence and Shed Paint Silver Grey 5L         |  12.99 | fence paint  | q.40x4
DECK-OIL       | Decking Oil Natural 2.5L                    |  24.99 |              | q.25x3
WOOD-PRES      | Clear Wood Preserver 5L                     |  19.99
VARNISH        | Clear Satin Varnish 750ml                   |  13.99
FNC-BRUSH      | Fence and Shed Brush 100mm                  |   4.99
FNC-SPRAY      | Fence Paint Sprayer                         |  49.00
ROL-SET        | Paint Roller and Tray Set 9in               |   9.99
ROL-SET-7      | Paint Roller and Tray Set 7in               |   8.49
ROL-SLEEVE     | Roller Sleeves 9in 2pk                      |   6.99
ROL-POLE       | Extension Pole 1-2m                         |  12.99
BRU-SET        | Paint Brush Set 3pc                         |   8.99
BRU-1IN        | Paint Brush 1in                             |   2.99
TAPE-MASK-25   | Masking Tape 25mm x 50m                     |   2.99 | masking tape | q.25x3
TAPE-MASK-38   | Masking Tape 38mm x 50m                     |   3.99 | masking tape | q.25x3
TAPE-PREC      | Precision Painter Tape 24mm                 |   6.99 | masking tape
DROP-CLOTH     | Cotton Dust Sheet 3.6x2.7m                  |   5.99 | dust sheets  | q.25x3
DROP-PLASTIC   | Plastic Dust Sheets 3pk                     |   3.99 | dust sheets
FILLER         | Multi-Purpose Filler 600g                   |   5.99
FILL-KNIVES    | Filling Knife Set 3pc                       |   6.99
SCRAPER        | Paint Scraper 50mm                          |   4.99
WHITE-SPIRIT   | White Spirit 2L                             |   5.99
SUGAR-SOAP     | Sugar Soap 1L                               |   3.99
CAULK          | Decorators Caulk 310ml                      |   2.99 |              | q.30x4
WP-PASTE       | Wallpaper Paste 10 Roll                     |   6.99
WP-STRIPPER    | Steam Wallpaper Stripper                    |  34.99
WP-KIT         | Wallpapering Kit 5pc                        |  12.99
SANDPAPER      | Sandpaper Assorted 10pk                     |   3.99
SAND-BLOCK     | Sanding Block                               |   2.99

[Plumbing]
PTFE           | PTFE Tape 12m                               |   0.99 |              | q.25x3
TAP-WASH       | Tap Washer Kit                              |   3.49
FIT-15-ELB     | Compression Elbow 15mm                      |   2.49 | fittings 15mm | q.40x6
FIT-15-TEE     | Compression Tee 15mm                        |   3.29 | fittings 15mm | q.30x4
FIT-15-STR     | Compression Straight Coupler 15mm           |   1.99 | fittings 15mm | q.40x6
FIT-22-ELB     | Compression Elbow 22mm                      |   3.99 | fittings 22mm | q.30x4
FIT-22-STR     | Compression Straight Coupler 22mm           |   3.49 | fittings 22mm | q.30x4
PIPE-CU-15     | Copper Pipe 15mm x 2m                       |  12.99 |              | q.30x4
PIPE-CU-22     | Copper Pipe 22mm x 2m                       |  21.99 |              | q.25x3
PIPE-CUT       | Pipe Cutter 15-22mm                         |   9.99
PIPE-LAG       | Pipe Lagging 15mm x 1m                      |   1.29 |              | q.50x8
ISO-VALVE      | Isolating Valve 15mm                        |   3.99 |              | q.25x3
TAP-CONN       | Flexible Tap Connectors 15mm 2pk            |   8.99
PLUNGER        | Sink Plunger                                |   5.99
DRAIN-GEL      | Drain Unblocker Gel 1L                      |   4.99 |              | q.15x2
DRAIN-RODS     | Drain Rods Set 10pc                         |  24.99
DRAIN-SNAKE    | Drain Snake 5m                              |   7.99
SINK-TRAP      | Bottle Trap 32mm                            |   6.99
SEAL-WHITE     | Bathroom Silicone Sealant White 300ml       |   6.99 | sealant      | q.20x3
SEAL-CLEAR     | Silicone Sealant Clear 300ml                |   6.99 | sealant      | q.20x3
SEAL-GUN       | Sealant Gun                                 |   4.99
SEAL-REMOVE    | Silicone Sealant Remover 100ml              |   5.99
TS-STD         | Toilet Seat White                           |  19.99 | toilet seats
TS-SOFT        | Soft-Close Toilet Seat                      |  34.99 | toilet seats
TS-OAK         | Soft-Close Oak Toilet Seat                  |  59.99 | toilet seats
SH-HEAD        | Shower Head 5-Function                      |  14.99 | shower heads
SH-RAIN        | Rainfall Shower Head 20cm                   |  29.99 | shower heads
SH-HOSE        | Shower Hose 1.5m                            |   8.99
FLUSH-VALVE    | Toilet Flush Valve                          |  12.99
FILL-VALVE     | Cistern Fill Valve                          |   9.99
RAD-KEY        | Radiator Bleed Keys 2pk                     |   1.99
BASIN-WR       | Basin Wrench                                |  11.99
OUT-TAP        | Outside Tap Kit                             |  24.99

[Electrical]
LED-E27-9W     | LED Bulb E27 9W Warm White                  |   3.49 | LED bulbs    | q.35x6
LED-E27-13W    | LED Bulb E27 13W Cool White                 |   4.49 | LED bulbs    | q.30x4
LED-B22-9W     | LED Bulb B22 9W Warm White                  |   3.49 | LED bulbs    | q.35x6
LED-B22-13W    | LED Bulb B22 13W Cool White                 |   4.49 | LED bulbs    | q.30x4
LED-E14-4W     | LED Candle Bulb E14 4W                      |   2.99 | LED bulbs    | q.40x6
LED-GU10-5W    | LED Spotlight GU10 5W 3pk                   |   7.99 | LED bulbs    | q.25x4
LED-G9         | LED Capsule Bulb G9 3W                      |   4.49 | LED bulbs    | q.30x4
LED-BATTEN     | LED Batten Light 4ft                        |  19.99
LED-SMART      | Smart LED Bulb E27 Colour                   |  14.99 |              | q.20x3
HAL-E27-42W    | Halogen Bulb E27 42W                        |   2.49 |              | q.35x6
BATT-AA-4      | AA Alkaline Batteries 4pk                   |   3.99 | AA batteries | q.15x3
BATT-AA-12     | AA Alkaline Batteries 12pk                  |   9.99 | AA batteries
BATT-AAA-4     | AAA Alkaline Batteries 4pk                  |   3.99 | AAA batteries | q.15x3
BATT-AAA-12    | AAA Alkaline Batteries 12pk                 |   9.99 | AAA batteries
BATT-9V        | 9V Alkaline Battery                         |   4.49 |              | q.15x2
BATT-C-2       | C Alkaline Batteries 2pk                    |   4.99
BATT-D-2       | D Alkaline Batteries 2pk                    |   5.49
BATT-CR2032    | CR2032 Coin Cells 2pk                       |   3.49
BATT-AA-RECH   | Rechargeable AA Batteries 4pk               |  11.99
BATT-CHARGER   | Battery Charger AA/AAA                      |  17.99
EXT-4W         | Extension Lead 4-Way 2m                     |   9.99 | extension leads
EXT-6W         | Surge-Protected Extension Lead 6-Way 2m     |  19.99 | extension leads
EXT-REEL-25    | Outdoor Cable Reel 25m                      |  39.00 | extension leads
EXT-OUT-10     | Outdoor Extension Lead 10m                  |  17.99
PLUG-13A       | 13A Plug Top                                |   2.49 |              | q.20x3
FUSE-3A        | Fuses 3A 4pk                                |   1.49
FUSE-5A        | Fuses 5A 4pk                                |   1.49
FUSE-13A       | Fuses 13A 4pk                               |   1.49
ADAPT-2W       | Double Socket Adaptor                       |   4.99
USB-PLUG       | Dual USB Wall Charger                       |   9.99
CABLE-1.5      | Twin and Earth Cable 1.5mm 10m              |  12.99 | cable        | q.20x3
CABLE-2.5      | Twin and Earth Cable 2.5mm 10m              |  17.99 | cable        | q.20x3
CABLE-CLIPS    | Cable Clips 100pk                           |   2.49
SOCKET-2G      | Double Socket 13A White                     |   5.99 |              | q.35x4
SWITCH-1G      | Light Switch 1-Gang White                   |   2.99 |              | q.30x4
BACKBOX        | Dry Lining Back Box 35mm                    |   1.49 |              | q.40x4
JUNCT-BOX      | Junction Box 30A                            |   2.99
WAGO           | Lever Connectors 10pk                       |   6.99
TAPE-ELEC      | Insulation Tape 19mm                        |   1.49 |              | q.20x3
VOLT-TEST      | Voltage Tester Screwdriver                  |   4.99
SMOKE-ALARM    | Smoke Alarm 10-Year                         |  14.99 |              | q.25x3
CO-ALARM       | Carbon Monoxide Alarm                       |  19.99
TORCH-LED      | LED Torch 300lm                             |   9.99 | torches
TORCH-PRO      | Rechargeable Work Light 1000lm              |  24.99 | torches
TORCH-HEAD     | LED Head Torch                              |  12.99
TIMER-PLUG     | Mechanical Timer Plug                       |   5.99 | timer plugs
TIMER-DIG      | Digital Timer Plug                          |  11.99 | timer plugs
DOORBELL       | Wireless Doorbell                           |  19.99
PIR-LIGHT      | LED Security Light with PIR 20W             |  24.99

[Outdoor Living]
GRL-CHAR       | Kettle Charcoal Grill 47cm                  |  79.00 | grills
GRL-GAS2       | 2-Burner Gas Grill                          | 189.00 | grills
GRL-GAS4       | 4-Burner Gas Grill with Side Burner         | 429.00 | grills
CHAR-5KG       | Lumpwood Charcoal 5kg                       |   8.99 | charcoal     | q.25x3
CHAR-10KG      | Charcoal Briquettes 10kg                    |  14.99 | charcoal     | q.15x2
CHAR-BRIQ-8    | Charcoal Briquettes 8kg                     |  12.99 |              | q.15x2
GAS-PROP-5     | Propane Gas 5kg Refill                      |  29.99
GAS-REG        | Propane Regulator and Hose Kit              |  19.99
GRL-COVER-S    | Kettle Grill Cover                          |  17.99
GRL-COVER-L    | Gas Grill Cover Large                       |  29.99
BBQ-TONGS      | Stainless BBQ Tongs                         |   7.99
BBQ-TOOLS      | BBQ Tool Set 3pc                            |  19.99
BBQ-BRUSH      | Grill Cleaning Brush                        |   6.99
BBQ-THERMO     | Digital Meat Thermometer                    |  14.99
BBQ-ROTIS      | Rotisserie Kit                              |  49.00
FIRELIGHT      | Firelighters 28pk                           |   2.49 |              | q.20x3
CHIMNEY        | Chimney Starter                             |  17.99
LIGHTER-LONG   | Long Utility Lighter                        |   3.99
FOIL-TRAYS     | Foil BBQ Trays 10pk                         |   4.99
CHAIR-FOLD     | Folding Garden Chair                        |  24.99 | garden chairs | q.60x6
CHAIR-REC      | Reclining Garden Chair                      |  49.00 | garden chairs | q.50x4
TABLE-4        | Garden Table 4-Seater                       |  89.00
PARASOL        | Garden Parasol 2.7m                         |  39.00
PARASOL-BASE   | Parasol Base 25kg                           |  24.99
CUSHION        | Garden Seat Pad Cushion                     |   9.99 |              | q.60x6
SOLAR-STAKE    | Solar Stake Lights 10pk                     |  19.99 | solar lights
SOLAR-STRING   | Solar String Lights 100 LED                 |  14.99 | solar lights
CITRONELLA     | Citronella Candle Bucket                    |   7.99 |              | q.30x3
FIRE-PIT       | Steel Fire Pit 60cm                         |  59.00
LOGS-KILN      | Kiln-Dried Logs Bag                         |   7.99 |              | q.45x5
FURN-COVER     | Patio Set Cover                             |  24.99
PATIO-HTR      | Gas Patio Heater 13kW                       | 149.00

[Heating & Seasonal]
HTR-FAN        | Fan Heater 2kW                              |  24.99 | heaters
HTR-OIL        | Oil-Filled Radiator 2kW                     |  54.99 | heaters
HTR-CER        | Ceramic Tower Heater 2.5kW with Timer       |  89.00 | heaters
DEHUM-10L      | Dehumidifier 10L                            | 129.00 | dehumidifiers
DEHUM-20L      | Dehumidifier 20L                            | 219.00 | dehumidifiers
SNW-SHOVEL     | Snow Shovel                                 |  19.99 | snow shovels
SNW-PUSHER     | Snow Pusher 60cm                            |  29.99 | snow shovels
SNW-ERGO       | Ergonomic Snow Shovel with Wheel            |  49.00 | snow shovels
SALT-10        | Rock Salt 10kg                              |   7.99 | rock salt    | q.30x4
SALT-25        | Rock Salt 25kg                              |  14.99 | rock salt    | q.20x3
DEICE-PATIO    | Patio De-Icer Granules 5kg                  |   9.99
DRAUGHT-EXC    | Draught Excluder 90cm                       |   9.99 |              | q.25x3
DRAUGHT-STRIP  | Self-Adhesive Draught Strip 5m              |   4.99 |              | q.35x4
WIN-FILM       | Window Insulation Film Kit                  |  12.99
RAD-FOIL       | Radiator Reflector Foil                     |   8.99
HW-BOTTLE      | Hot Water Bottle with Cover                 |   7.99
GLV-THERMAL    | Thermal Work Gloves                         |   6.99
XMAS-IN        | Indoor Christmas Lights 200 LED             |  14.99 | christmas lights | q.25x3
XMAS-OUT       | Outdoor Christmas Lights 500 LED            |  34.99 | christmas lights
XMAS-NET       | Net Lights 2x2m                             |  19.99
XMAS-STAND     | Christmas Tree Stand                        |  19.99
XMAS-CLIPS     | Light Clips 50pk                            |   3.99
THERMO-HYG     | Indoor Thermometer and Hygrometer           |   7.99
FAN-DESK       | Desk Fan 30cm                               |  19.99 | fans
FAN-TOWER      | Tower Fan 80cm                              |  44.99 | fans

[Cleaning]
MOP-BUCKET     | Mop and Bucket Set                          |  14.99 | mops
MOP-SPIN       | Spin Mop and Bucket                         |  29.99 | mops
MOP-HEAD       | Replacement Mop Head                        |   4.99
BUCKET-10      | Bucket 10L                                  |   2.99
SPONGE-10      | Scourer Sponges 10pk                        |   1.99
CLOTH-MF       | Microfibre Cloths 6pk                       |   4.99
GLV-RUBBER     | Household Rubber Gloves                     |   1.99
BIN-BAGS       | Heavy-Duty Bin Bags 20pk                    |   3.99 |              | q.20x3
BLEACH         | Thick Bleach 2L                             |   1.99 |              | q.20x3
CLEAN-MS       | Multi-Surface Cleaner 1L                    |   2.49
CLEAN-GLASS    | Glass Cleaner 750ml                         |   2.49
CLEAN-DEGR     | Heavy-Duty Degreaser 1L                     |   5.99
CLEAN-LIME     | Limescale Remover 1L                        |   3.49
MOULD-SPRAY    | Mould and Mildew Remover 750ml              |   3.99
BROOM-IN       | Indoor Broom                                |   7.99
BROOM-OUT      | Stiff Outdoor Broom                         |  12.99
DUSTPAN        | Dustpan and Brush Set                       |   3.99
PATIO-CLEAN    | Patio Cleaner Concentrate 5L                |  14.99
BIN-PEDAL      | Pedal Bin 30L                               |  19.99
VAC-HAND       | Cordless Handheld Vacuum                    |  49.00 | vacuums
VAC-STICK      | Cordless Stick Vacuum                       | 119.00 | vacuums

[Automotive]
SCREENWASH     | Screenwash -15C 5L                          |   5.99 |              | q.25x3
CAR-SHAMPOO    | Car Shampoo 1L                              |   4.99
CAR-WAX        | Car Wax 500ml                               |   9.99
CAR-SPONGE     | Car Wash Sponge                             |   2.49
CHAMOIS        | Synthetic Chamois                           |   5.99
CAR-MF         | Car Microfibre Towels 3pk                   |   6.99
AIR-FRESH      | Car Air Freshener                           |   2.49 |              | q.25x3
OIL-5W30       | Engine Oil 5W-30 Fully Synthetic 4L         |  29.99 | engine oil
OIL-10W40      | Engine Oil 10W-40 Semi Synthetic 4L         |  21.99 | engine oil
FUNNEL         | Funnel with Filter                          |   2.99
WIPER-18       | Wiper Blade 18in                            |   8.99 | wiper blades
WIPER-22       | Wiper Blade 22in                            |   9.99 | wiper blades
WIPER-24       | Wiper Blade 24in                            |   9.99 | wiper blades
BULB-H7        | Headlight Bulb H7                           |   6.99 |              | q.30x2
BULB-H4        | Headlight Bulb H4                           |   6.99 |              | q.30x2
JUMP-LEADS     | Jump Leads 3m                               |  17.99
TYRE-INFL      | 12V Tyre Inflator                           |  29.99
ANTIFREEZE     | Antifreeze Concentrate 1L                   |   6.99
DEICE-SPRAY    | De-Icer Spray 500ml                         |   3.49 |              | q.25x3
ICE-SCRAPER    | Ice Scraper with Mitt                       |   3.99
WD40           | WD-40 Multi-Use 400ml                       |   6.49
TOW-ROPE       | Tow Rope 4m                                 |   9.99

[Pets]
DOG-FOOD-2     | Adult Dog Food Chicken 2kg                  |   8.99 | dog food     | q.20x3
DOG-FOOD-6     | Adult Dog Food Chicken 6kg                  |  19.99 | dog food
CAT-POUCH      | Cat Food Pouches 12pk                       |   5.99 | cat food     | q.35x4
CAT-DRY        | Dry Cat Food 2kg                            |   7.99 | cat food
CAT-LITTER     | Clumping Cat Litter 10L                     |   6.49 |              | q.30x3
DOG-TREATS     | Dog Dental Chews 7pk                        |   3.49 |              | q.25x3
CAT-TREATS     | Cat Treats 60g                              |   1.49 |              | q.35x4
POOP-BAGS      | Dog Poop Bags 120pk                         |   3.99
DOG-LEAD       | Dog Lead 1.2m                               |   9.99
DOG-TOY        | Rope Tug Dog Toy                            |   4.99
DOG-BED        | Dog Bed Medium                              |  24.99
PET-BOWL       | Stainless Steel Pet Bowl                    |   4.49
FISH-FLAKES    | Tropical Fish Flakes 50g                    |   3.49
BIRD-SEED-2    | Wild Bird Seed Mix 2kg                      |   5.99 | wild bird food | q.20x3
BIRD-SEED-5    | Wild Bird Seed Mix 5kg                      |  12.99 | wild bird food
FAT-BALLS      | Suet Fat Balls 50pk                         |   8.99 |              | q.20x3
NYJER          | Nyjer Seed 1kg                              |   4.99
FEEDER-SEED    | Hanging Seed Feeder                         |   7.99
FEEDER-FAT     | Fat Ball Feeder                             |   5.99
BIRD-TABLE     | Wooden Bird Table                           |  39.00
"""

# Discontinued products: (old sku, successor sku, days before end_date). The old one sells
# until that day, the successor from it on; the old one is inactive in the catalogue.
_DISCONTINUED: tuple[tuple[str, str, int], ...] = (
    ("HAL-E27-42W", "LED-E27-9W", 560),
    ("BAT-18V-15", "BAT-18V-2AH", 420),
    ("HOSE-GUN-3", "HOSE-GUN", 380),
    ("CHAR-BRIQ-8", "CHAR-10KG", 300),
    ("ROL-SET-7", "ROL-SET", 250),
)

# Accessories that the demo showcases in the cashier panel: always kept in stock.
_SHOWCASE = ("MOW-CATCH", "DRL-BITS", "GRL-COVER-S", "GRL-COVER-L", "ROL-SET", "PW-DET",
             "OIL-SAE30", "CHAR-5KG")

# Monthly season multipliers (Jan..Dec), interpolated to the day.
_SEASONS: dict[str, tuple[float, ...]] = {
    "flat": (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),
    "diy": (.9, 1.0, 1.15, 1.2, 1.1, 1.0, .9, .95, 1.1, 1.1, .95, .75),
    "garden": (.25, .35, .8, 1.5, 1.9, 1.8, 1.5, 1.2, .8, .45, .25, .2),
    "mowing": (.08, .12, .6, 1.6, 2.2, 2.1, 1.8, 1.4, .8, .35, .1, .06),
    "sowing": (.3, .8, 2.0, 2.4, 1.6, .8, .4, .3, .3, .2, .1, .2),
    "lawn": (.2, .4, 1.4, 2.0, 1.4, .8, .6, .8, 1.5, 1.0, .3, .15),
    "hedge": (.1, .1, .4, .9, 1.6, 2.0, 2.0, 1.7, 1.1, .5, .2, .1),
    "summer": (.3, .3, .6, 1.0, 1.5, 1.9, 2.0, 1.7, 1.0, .6, .3, .3),
    "bbq": (.1, .1, .3, .8, 1.6, 2.4, 2.6, 2.1, .8, .3, .1, .15),
    "heat": (.02, .02, .05, .2, .8, 2.2, 3.0, 2.2, .4, .05, .02, .02),
    "autumn": (.4, .3, .5, .8, .8, .7, .7, .8, 1.4, 2.3, 1.8, .6),
    "winter": (2.4, 2.0, 1.0, .4, .15, .08, .08, .1, .4, 1.2, 2.2, 2.6),
    "snow": (3.0, 2.4, .7, .05, .02, .02, .02, .02, .02, .3, 1.5, 3.0),
    "xmas": (.05, .02, .02, .02, .02, .02, .02, .02, .05, .4, 2.5, 4.0),
    "dark": (1.4, 1.2, 1.0, .8, .7, .7, .7, .8, 1.0, 1.2, 1.3, 1.4),
    "birds": (1.8, 1.6, 1.1, .8, .6, .5, .5, .5, .7, 1.1, 1.5, 1.9),
}

# Everyday top-up items, most popular first (Zipf-like weights by rank).
_EVERYDAY = (
    "BATT-AA-4", "LED-E27-9W", "SCR-4.0X40", "GLV-WORK", "TAPE-DUCT", "PLUGS-RED",
    "BATT-AAA-4", "CABLE-TIE-200", "WD40", "SUPERGLUE", "TAPE-MASK-25", "LED-B22-9W",
    "SANDPAPER", "BIN-BAGS", "FUSE-13A", "PIC-HOOKS", "SCR-3.5X30", "TAPE-ELEC", "SPONGE-10",
    "PTFE", "LED-GU10-5W", "SCR-5.0X50", "BATT-9V", "KNIFE-BLD", "BATT-CR2032", "PLUGS-BRN",
    "NAIL-OVAL-40", "GLV-RUBBER", "CLOTH-MF", "LED-E14-4W", "BUNGEE", "PENCILS", "ADH-HOOKS",
    "CLEAN-MS", "PLUG-13A", "BATT-AA-12", "SCR-4.0X30", "CABLE-TIE-300", "FUSE-3A",
    "BLEACH", "CAULK", "SEAL-WHITE", "GLUE-WOOD", "EPOXY", "HOOK-CUP", "SCREW-EYES",
    "BATT-C-2", "BATT-D-2", "FUSE-5A", "BRU-1IN",
)


@dataclass(frozen=True)
class _Acc:
    """An accessory: with probability ``prob[core position]`` add one of ``alts``."""

    alts: tuple[str, ...]
    prob: tuple[float, ...]            # one per core item, or one for all
    alt_p: tuple[float, ...] | None = None


@dataclass(frozen=True)
class _Mission:
    """A reason to come in. ``core`` picks the primary item (and extras); ``accs`` follow.

    A tiered family sets ``second_p`` (chance of also taking a different tier); a multi-pick
    mission (seeds, fasteners, cleaning) sets ``extra_lam`` (Poisson extra picks from core).
    """

    name: str
    weight: float
    season: str
    core: tuple[str, ...]
    core_p: tuple[float, ...] | None = None    # None: Zipf-like by listing order
    extra_lam: float = 0.0
    second_p: float = 0.0
    accs: tuple[_Acc, ...] = ()


def _a(alts: str | tuple[str, ...], *prob: float, alt_p: tuple[float, ...] | None = None) -> _Acc:
    return _Acc(alts=(alts,) if isinstance(alts, str) else alts, prob=tuple(prob), alt_p=alt_p)


TIER3 = (0.55, 0.30, 0.15)
TIER2 = (0.65, 0.35)

_MISSIONS: tuple[_Mission, ...] = (
    # -- Garden Power --------------------------------------------------------------------------
    _Mission("mower", 1.6, "mowing", ("MOW-STD", "MOW-DLX", "MOW-PRO"), TIER3, second_p=0.02,
             accs=(_a("MOW-CATCH", .38, .30, .12), _a("OIL-SAE30", .30, .30, .35),
                   _a("PLUG-SPK", .22, .20, .25), _a("MOW-MULCH", 0, 0, .40),
                   _a("FUEL-CAN-5L", .12, .12, .15), _a("MOW-COVER", 0, .08, .18),
                   _a("MOW-BLADE-41", .04, 0, 0), _a("MOW-BLADE-46", 0, .04, 0),
                   _a("MOW-BLADE-53", 0, 0, .05), _a("GLV-GARDEN", .06, .06, .06))),
    _Mission("mower spares", 0.5, "mowing",
             ("OIL-SAE30", "PLUG-SPK", "MOW-BLADE-46", "MOW-BLADE-41", "MOW-CATCH",
              "MOW-BLADE-53", "FUEL-CAN-5L", "MOW-COVER"), extra_lam=0.4),
    _Mission("trimmer", 1.0, "garden", ("TRM-CORD", "TRM-PET", "TRM-PRO"), (.50, .32, .18),
             second_p=0.02,
             accs=(_a("TRM-SPOOL", .35, 0, 0), _a("TRM-LINE", 0, .40, .45),
                   _a("OIL-2T", 0, .35, .40), _a("SAFE-GOGG", .15, .18, .25),
                   _a("TRM-HARN", 0, 0, .35), _a("BAT-18V-2AH", .10, 0, 0),
                   _a("FUEL-CAN-5L", 0, .12, .15), _a("EAR-DEF", 0, .08, .15))),
    _Mission("leaf blower", 0.45, "autumn", ("BLW-ELEC", "BLW-CORD", "BLW-PET"), (.50, .35, .15),
             second_p=0.02,
             accs=(_a("LEAF-BAG", .30, .30, .25), _a("EXT-OUT-10", .12, 0, 0),
                   _a("OIL-2T", 0, 0, .35), _a("EAR-DEF", 0, .05, .20))),
    _Mission("hedge trimmer", 0.5, "hedge", ("HDG-ELEC", "HDG-CORD", "HDG-PET"), (.50, .35, .15),
             second_p=0.02,
             accs=(_a("GLV-GARDEN", .15, .15, .10), _a("SAFE-GOGG", .10, .12, .20),
                   _a("EXT-OUT-10", .18, 0, 0), _a("LEAF-BAG", .15, .15, .15),
                   _a("OIL-2T", 0, 0, .35), _a("BAT-18V-2AH", 0, .10, 0))),
    _Mission("chainsaw", 0.3, "autumn", ("CHN-ELEC", "CHN-PET"), TIER2, second_p=0.01,
             accs=(_a("CHN-OIL", .45, .50), _a("CHN-CHAIN", .20, .28), _a("GLV-CHAIN", .12, .20),
                   _a("CHN-FILE", .10, .18), _a("OIL-2T", 0, .40), _a("SAFE-GOGG", .10, .12))),
    _Mission("pressure washer", 0.6, "summer", ("PW-1700", "PW-2100", "PW-PRO"), TIER3,
             second_p=0.02,
             accs=(_a("PW-DET", .35, .35, .30), _a("PW-PATIO", .15, .22, .30),
                   _a("PW-HOSE", .05, .08, .12), _a("PW-CAR", .08, .10, .10))),
    # -- Garden Care ---------------------------------------------------------------------------
    _Mission("lawn care", 1.2, "lawn",
             ("FEED-LAWN", "SEED-GRASS-1", "FEED-WEED", "FEED-MOSS", "SEED-GRASS-5",
              "SEED-GRASS-SH"), extra_lam=0.5,
             accs=(_a("SPREADER", .08), _a("RAKE-LAWN", .07), _a("GLV-GARDEN", .05))),
    _Mission("sowing", 1.4, "sowing",
             ("SEED-TOM", "SEED-CAR", "SEED-LET", "SEED-BEAN", "SEED-SUN", "SEED-COUR",
              "SEED-PEA", "SEED-SWPEA", "SEED-BASIL", "SEED-CUC", "SEED-RAD", "SEED-PARS"),
             extra_lam=1.3,
             accs=(_a("COMP-MP-50", .40), _a("SEED-TRAY", .20), _a("PLANT-LABEL", .12),
                   _a("PROPAGATOR", .04), _a("WCAN-10", .05), _a("CANES", .06))),
    _Mission("watering", 0.9, "summer", ("HOSE-15", "HOSE-30", "HOSE-REEL"), (.50, .35, .15),
             second_p=0.02,
             accs=(_a("HOSE-GUN", .40, .40, .25), _a("HOSE-CONN", .35, .30, .20),
                   _a("HOSE-TAPC", .15, .15, .12), _a("SPRINKLER", .10, .12, .15))),
    _Mission("potting", 1.3, "garden",
             ("COMP-MP-50", "POT-20", "POT-30", "GROWBAG", "FEED-TOM", "BARK-70", "FEED-AP",
              "COMP-JI2", "POT-40", "FEED-ROSE", "BONEMEAL", "TWINE", "CANES"), extra_lam=0.8,
             accs=(_a("TROWEL", .08), _a("GLV-GARDEN", .10), _a("WCAN-10", .04))),
    _Mission("garden tools", 0.8, "garden",
             ("SECATEURS", "TROWEL", "SPADE", "RAKE", "HANDFORK", "FORK", "HOE", "LOPPERS",
              "SHEARS", "WBARROW", "SECATEURS-PRO", "GLV-THORN", "WCAN-10"), extra_lam=0.35,
             accs=(_a("GLV-GARDEN", .20),)),
    _Mission("pests and weeds", 0.7, "hedge",
             ("WEED-RTU", "SLUG-PELL", "WEED-CONC", "BUG-SPRAY", "ANT-POWDER", "SPRAYER-5L"),
             extra_lam=0.4, accs=(_a("GLV-NITRILE", .06), _a("SPRAYER-5L", .06))),
    # -- Power Tools ---------------------------------------------------------------------------
    _Mission("drill", 1.3, "diy", ("DRL-18V-BASIC", "DRL-18V-COMBI", "DRL-18V-PRO"),
             (.50, .33, .17), second_p=0.02,
             accs=(_a("DRL-BITS", .42, .36, .30), _a("BAT-18V-2AH", .12, .22, 0),
                   _a("BAT-18V-5AH", 0, .04, .30), _a("BITS-MAS", .15, .15, .18),
                   _a("BITS-WOOD", .08, .10, .12), _a("PLUGS-ASST", .10, .08, .06),
                   _a("CHG-18V", 0, 0, .08), _a("TOOLBOX", .04, .04, .04))),
    _Mission("circular saw", 0.3, "diy", ("SAW-CIRC-1200", "SAW-CIRC-PRO"), TIER2,
             second_p=0.01,
             accs=(_a("BLD-CIRC-24T", .35, .30), _a("BLD-CIRC-40T", .15, .30),
                   _a("CLAMP-F", .10, .12), _a("SAFE-GOGG", .15, .12), _a("MASK-FFP2", .08, .10))),
    _Mission("jigsaw", 0.35, "diy", ("JIG-500", "JIG-750"), (.60, .40), second_p=0.01,
             accs=(_a("BLD-JIG", .50, .45), _a("CLAMP-F", .08, .10), _a("SAFE-GOGG", .08, .08))),
    _Mission("sander", 0.4, "diy", ("SND-DETAIL", "SND-ORBIT", "SND-RANDOM"), (.45, .35, .20),
             second_p=0.02,
             accs=(_a("SHEET-DETAIL", .55, 0, 0), _a("SHEET-ORBIT", 0, .55, 0),
                   _a("DISC-ROS", 0, 0, .55), _a("MASK-FFP2", .20, .20, .22))),
    _Mission("grinder", 0.3, "diy", ("GRD-115", "GRD-125"), TIER2, second_p=0.01,
             accs=(_a("DISC-CUT", .45, .40), _a("DISC-FLAP", .20, .30), _a("SAFE-GOGG", .20, .15),
                   _a("GLV-WORK", .15, .12), _a("EAR-DEF", .05, .10))),
    _Mission("other power tools", 0.5, "diy",
             ("MULTI-TOOL", "IMP-18V", "GLUE-GUN", "HEAT-GUN", "ROTARY", "PLANER", "ROUTER",
              "BAT-18V-2AH", "CHG-18V"),
             accs=(_a("MT-BLADES", .45, 0, 0, 0, 0, 0, 0, 0, 0),
                   _a("DRL-BITS", 0, .30, 0, 0, 0, 0, 0, 0, 0),
                   _a("GLUE-STICK", 0, 0, .65, 0, 0, 0, 0, 0, 0),
                   _a("SCRAPER", 0, 0, 0, .30, 0, 0, 0, 0, 0))),
    # -- Hand Tools, Ladders & Storage ----------------------------------------------------------
    _Mission("hand tools", 1.2, "flat",
             ("TAPE-5M", "HAM-16", "SDR-SET6", "KNIFE", "LEVEL-60", "PLIERS-SET", "HACKSAW",
              "WRENCH-ADJ", "HEX-KEYS", "HANDSAW", "SOCKET-SET", "TAPE-8M", "HAM-20", "CLAMP-F",
              "STUD-FIND", "CHISELS", "LEVEL-120", "MALLET", "PRY-BAR", "SQUARE", "FILE-SET",
              "SDR-PREC", "TOOLBOX", "TOOL-BELT", "KNEE-PADS", "HIVIS", "BOOTS-S1P", "EAR-DEF",
              "GLV-NITRILE", "SAFE-GOGG", "MASK-FFP2"), extra_lam=0.35,
             accs=(_a("KNIFE-BLD", .20), _a("PENCILS", .08), _a("GLV-WORK", .06))),
    _Mission("ladder", 0.5, "diy", ("LAD-STEP3", "LAD-STEP5", "LAD-EXT"), (.45, .35, .20),
             second_p=0.02,
             accs=(_a("TOOL-BELT", .10, .18, .30), _a("LAD-STAB", 0, 0, .35),
                   _a("LAD-TRAY", .06, .12, .10), _a("STEP-STOOL", .04, .02, 0))),
    _Mission("storage", 0.6, "flat",
             ("BOX-35", "HOOK-SET", "BOX-60", "SHELF-5", "BIKE-HOOK", "ORGANISER", "BUNGEE",
              "RATCHET", "TARP", "SACK-TRUCK", "STEP-STOOL"), extra_lam=0.4,
             accs=(_a("PLUGS-ASST", .10), _a("SCR-5.0X50", .08))),
    # -- Fasteners -----------------------------------------------------------------------------
    _Mission("fixings", 1.5, "diy",
             ("SCR-4.0X40", "PLUGS-RED", "SCR-3.5X30", "SCR-5.0X50", "PLUGS-BRN", "NAIL-OVAL-40",
              "SCR-4.0X50", "BOLT-M8X50", "PLUGS-PB", "SCR-4.0X30", "BRKT-SHELF", "SCR-5.0X70",
              "NAIL-RW-75", "PLUGS-YEL", "SCR-3.0X16", "SCR-3.5X25", "BRACE-50", "HINGE-75",
              "NUT-WASH", "SCR-DRY-25", "NAIL-PANEL", "SCR-5.0X80", "BOLT-M6X40", "PLUGS-BLUE",
              "HINGE-100", "SCR-CONC", "GRAB-ADH", "MEND-PLATE", "NAIL-OVAL-50", "BOLT-M8X80",
              "SCR-6.0X100", "PLUGS-ASST", "NAIL-RW-100", "SCR-DRY-35", "BOLT-COACH", "ROD-M8",
              "NAIL-CLOUT", "NAIL-MASONRY", "BOLT-M10X80", "HINGE-T300", "HINGE-GATE",
              "JOIST-HANGER", "GLUE-WOOD", "EPOXY"), extra_lam=1.0,
             accs=(_a("BITS-MAS", .05), _a("SDR-SET6", .03), _a("SEAL-GUN", .02))),
    _Mission("decking and fencing", 0.5, "summer",
             ("SCR-DECK", "JOIST-HANGER", "HINGE-GATE", "BOLT-COACH", "HINGE-T300",
              "SCR-5.0X70"), extra_lam=0.6,
             accs=(_a("DECK-OIL", .15), _a("FNC-BRN", .10), _a("DRL-BITS", .04))),
    # -- Paint & Decor -------------------------------------------------------------------------
    _Mission("paint a room", 1.4, "diy", ("PNT-EMUL-STD", "PNT-EMUL-DLX", "PNT-EMUL-PRO"),
             TIER3, second_p=0.02,
             accs=(_a(("ROL-SET", "ROL-SLEEVE"), .45, .45, .40, alt_p=(.8, .2)),
                   _a("BRU-SET", .35, .35, .35), _a(("TAPE-MASK-25", "TAPE-MASK-38", "TAPE-PREC"),
                                                    .30, .30, .35, alt_p=(.55, .30, .15)),
                   _a(("DROP-CLOTH", "DROP-PLASTIC"), .20, .22, .30, alt_p=(.6, .4)),
                   _a("FILLER", .12, .12, .12), _a("ROL-POLE", 0, .05, .20),
                   _a("PNT-CEIL", .08, .10, .12), _a("SANDPAPER", .06, .06, .06),
                   _a("LAD-TRAY", 0, .02, .04))),
    _Mission("colour paint", 0.8, "diy",
             ("PNT-COL-SAGE", "PNT-COL-GREY", "PNT-COL-MAG", "PNT-COL-CREAM", "PNT-COL-NAVY",
              "PNT-COL-DUCK", "PNT-COL-STONE", "PNT-COL-CHAR", "PNT-COL-OLIVE", "PNT-COL-TERRA",
              "PNT-COL-BLUSH", "PNT-COL-OCHRE"), extra_lam=0.3,
             accs=(_a("ROL-SET", .35), _a("BRU-SET", .25), _a("TAPE-MASK-25", .28),
                   _a("PNT-TEST", .15), _a("DROP-CLOTH", .12))),
    _Mission("tester pots", 0.3, "diy", ("PNT-TEST",)),
    _Mission("woodwork paint", 0.6, "diy",
             ("PNT-GLOSS", "PNT-SATIN", "PNT-PRIMER", "VARNISH", "WHITE-SPIRIT"), extra_lam=0.5,
             accs=(_a("BRU-1IN", .35), _a("SANDPAPER", .20), _a("SAND-BLOCK", .08),
                   _a("TAPE-MASK-25", .10))),
    _Mission("masonry paint", 0.3, "summer", ("PNT-MAS-STD", "PNT-MAS-DLX"), TIER2,
             second_p=0.01,
             accs=(_a("ROL-SET", .30, .30), _a("BRU-SET", .20, .20), _a("ROL-POLE", .15, .20))),
    _Mission("fence care", 0.8, "summer",
             ("FNC-BRN", "FNC-GRN", "DECK-OIL", "WOOD-PRES", "FNC-GRY"), extra_lam=0.4,
             accs=(_a("FNC-BRUSH", .40), _a("FNC-SPRAY", .05), _a("GLV-NITRILE", .05))),
    _Mission("decorating prep", 0.7, "diy",
             ("FILLER", "CAULK", "SANDPAPER", "SUGAR-SOAP", "WP-PASTE", "SCRAPER",
              "FILL-KNIVES", "WP-KIT", "WP-STRIPPER", "SAND-BLOCK", "DROP-PLASTIC"),
             extra_lam=0.7, accs=(_a("SEAL-GUN", .08),)),
    # -- Plumbing ------------------------------------------------------------------------------
    _Mission("leak fix", 0.7, "flat",
             ("FIT-15-ELB", "FIT-15-STR", "TAP-WASH", "ISO-VALVE", "FIT-15-TEE", "PIPE-CU-15",
              "TAP-CONN", "FIT-22-ELB", "FIT-22-STR", "PIPE-CU-22", "FLUSH-VALVE", "FILL-VALVE",
              "SINK-TRAP", "BASIN-WR"), extra_lam=0.8,
             accs=(_a("PTFE", .35), _a("PIPE-CUT", .08))),
    _Mission("blocked drain", 0.4, "flat", ("DRAIN-GEL", "PLUNGER", "DRAIN-SNAKE", "DRAIN-RODS"),
             extra_lam=0.3, accs=(_a("GLV-RUBBER", .20), _a("BLEACH", .10))),
    _Mission("sealant", 0.5, "flat", ("SEAL-WHITE", "SEAL-CLEAR"), (.7, .3),
             accs=(_a("SEAL-GUN", .30), _a("SEAL-REMOVE", .20), _a("MOULD-SPRAY", .06))),
    _Mission("toilet seat", 0.25, "flat", ("TS-STD", "TS-SOFT", "TS-OAK"), (.50, .35, .15),
             second_p=0.01, accs=(_a("CLEAN-LIME", .10, .10, .10),)),
    _Mission("shower head", 0.25, "flat", ("SH-HEAD", "SH-RAIN"), TIER2, second_p=0.01,
             accs=(_a("SH-HOSE", .30, .25), _a("PTFE", .12, .12), _a("CLEAN-LIME", .08, .08))),
    _Mission("outside tap", 0.15, "garden", ("OUT-TAP",), accs=(_a("HOSE-TAPC", .40),)),
    _Mission("radiators", 0.2, "winter", ("RAD-KEY", "RAD-FOIL", "PIPE-LAG"), extra_lam=0.2),
    # -- Electrical ----------------------------------------------------------------------------
    _Mission("light bulbs", 1.3, "dark",
             ("LED-E27-9W", "LED-B22-9W", "LED-GU10-5W", "LED-E14-4W", "LED-E27-13W",
              "LED-B22-13W", "LED-G9", "LED-SMART", "LED-BATTEN"), extra_lam=0.5),
    _Mission("wiring", 0.6, "flat",
             ("PLUG-13A", "FUSE-13A", "SOCKET-2G", "WAGO", "SWITCH-1G", "CABLE-2.5",
              "CABLE-1.5", "JUNCT-BOX", "BACKBOX", "FUSE-3A", "FUSE-5A", "CABLE-CLIPS",
              "ADAPT-2W", "USB-PLUG", "DOORBELL", "PIR-LIGHT"), extra_lam=0.8,
             accs=(_a("TAPE-ELEC", .25), _a("VOLT-TEST", .10))),
    _Mission("extension lead", 0.4, "flat", ("EXT-4W", "EXT-6W", "EXT-REEL-25"),
             (.50, .35, .15), second_p=0.02, accs=(_a("TIMER-PLUG", .08, .05, 0),)),
    _Mission("batteries", 0.7, "dark",
             ("BATT-AA-4", "BATT-AAA-4", "BATT-AA-12", "BATT-9V", "BATT-CR2032", "BATT-AAA-12",
              "BATT-C-2", "BATT-D-2", "BATT-AA-RECH", "TORCH-LED", "TORCH-HEAD", "BATT-CHARGER",
              "TORCH-PRO"), extra_lam=0.5),
    _Mission("alarms", 0.25, "dark", ("SMOKE-ALARM", "CO-ALARM"), (.7, .3),
             accs=(_a("BATT-9V", .15), _a("PLUGS-RED", .25))),
    # -- Outdoor Living ------------------------------------------------------------------------
    _Mission("grill", 0.9, "bbq", ("GRL-CHAR", "GRL-GAS2", "GRL-GAS4"), TIER3, second_p=0.02,
             accs=(_a(("CHAR-5KG", "CHAR-10KG"), .55, 0, 0, alt_p=(.7, .3)),
                   _a("FIRELIGHT", .35, 0, 0), _a("CHIMNEY", .10, 0, 0),
                   _a("GAS-PROP-5", 0, .45, .50), _a("GAS-REG", 0, .20, .15),
                   _a("GRL-COVER-S", .25, 0, 0), _a("GRL-COVER-L", 0, .30, .38),
                   _a("BBQ-TONGS", .25, .22, .15), _a("BBQ-TOOLS", .10, .15, .25),
                   _a("BBQ-BRUSH", .10, .15, .20), _a("BBQ-THERMO", 0, .05, .15),
                   _a("BBQ-ROTIS", 0, 0, .20))),
    _Mission("bbq fuel", 1.1, "bbq",
             ("CHAR-5KG", "CHAR-10KG", "FIRELIGHT", "GAS-PROP-5", "LIGHTER-LONG", "FOIL-TRAYS",
              "BBQ-TONGS", "BBQ-BRUSH", "CHIMNEY"), extra_lam=0.5),
    _Mission("patio", 0.7, "summer",
             ("SOLAR-STAKE", "CHAIR-FOLD", "CITRONELLA", "CUSHION", "SOLAR-STRING", "PARASOL",
              "CHAIR-REC", "FURN-COVER", "TABLE-4", "FIRE-PIT", "PATIO-HTR"), extra_lam=0.4,
             accs=(_a("PARASOL-BASE", 0, 0, 0, 0, 0, .55, 0, 0, 0, 0, 0),
                   _a("LOGS-KILN", 0, 0, 0, 0, 0, 0, 0, 0, 0, .45, 0),
                   _a("GAS-PROP-5", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, .50))),
    _Mission("logs", 0.35, "winter", ("LOGS-KILN", "FIRELIGHT"), (.8, .2), extra_lam=0.2),
    # -- Heating & Seasonal --------------------------------------------------------------------
    _Mission("heater", 0.9, "winter", ("HTR-FAN", "HTR-OIL", "HTR-CER"), (.55, .28, .17),
             second_p=0.02,
             accs=(_a("TIMER-PLUG", .10, .15, .04), _a("EXT-4W", .05, .03, .03),
                   _a("THERMO-HYG", .04, .06, .06))),
    _Mission("dehumidifier", 0.2, "winter", ("DEHUM-10L", "DEHUM-20L"), TIER2, second_p=0.01,
             accs=(_a("MOULD-SPRAY", .20, .20), _a("THERMO-HYG", .10, .10))),
    _Mission("snow", 0.5, "snow", ("SNW-SHOVEL", "SNW-PUSHER", "SNW-ERGO"), (.50, .35, .15),
             second_p=0.02,
             accs=(_a(("SALT-10", "SALT-25"), .45, .45, .45, alt_p=(.7, .3)),
                   _a("DEICE-SPRAY", .20, .20, .20), _a("ICE-SCRAPER", .15, .15, .15),
                   _a("GLV-THERMAL", .12, .12, .15))),
    _Mission("winter prep", 1.0, "winter",
             ("SALT-10", "DEICE-SPRAY", "DRAUGHT-STRIP", "PIPE-LAG", "DRAUGHT-EXC", "ICE-SCRAPER",
              "SALT-25", "RAD-FOIL", "HW-BOTTLE", "GLV-THERMAL", "WIN-FILM", "DEICE-PATIO",
              "ANTIFREEZE"), extra_lam=0.6),
    _Mission("christmas", 0.45, "xmas", ("XMAS-IN", "XMAS-OUT", "XMAS-NET"), (.55, .30, .15),
             second_p=0.10,
             accs=(_a("XMAS-CLIPS", .10, .40, .30), _a("TIMER-PLUG", .08, .25, .20),
                   _a("EXT-OUT-10", 0, .18, .15), _a("XMAS-STAND", .12, .04, .04),
                   _a("BATT-AA-4", .10, 0, 0))),
    _Mission("cooling", 0.35, "heat", ("FAN-DESK", "FAN-TOWER"), TIER2, second_p=0.01),
    # -- Cleaning ------------------------------------------------------------------------------
    _Mission("cleaning", 1.4, "flat",
             ("BIN-BAGS", "CLEAN-MS", "BLEACH", "SPONGE-10", "CLOTH-MF", "GLV-RUBBER",
              "CLEAN-GLASS", "CLEAN-LIME", "MOP-HEAD", "BROOM-IN", "DUSTPAN", "CLEAN-DEGR",
              "MOULD-SPRAY", "BUCKET-10", "BIN-PEDAL"), extra_lam=1.0),
    _Mission("mop", 0.25, "flat", ("MOP-BUCKET", "MOP-SPIN"), TIER2, second_p=0.01,
             accs=(_a("CLEAN-MS", .25, .25), _a("MOP-HEAD", .05, .10))),
    _Mission("vacuum", 0.2, "flat", ("VAC-HAND", "VAC-STICK"), (.6, .4), second_p=0.01),
    _Mission("outdoor cleaning", 0.4, "summer",
             ("BROOM-OUT", "PATIO-CLEAN", "BUCKET-10", "CLEAN-DEGR"), extra_lam=0.4,
             accs=(_a("PW-DET", .05),)),
    # -- Automotive ----------------------------------------------------------------------------
    _Mission("car wash", 0.7, "summer",
             ("CAR-SHAMPOO", "CAR-SPONGE", "CAR-MF", "CHAMOIS", "CAR-WAX", "AIR-FRESH",
              "BUCKET-10"), extra_lam=0.8),
    _Mission("car winter", 0.5, "winter",
             ("DEICE-SPRAY", "ICE-SCRAPER", "SCREENWASH", "ANTIFREEZE", "JUMP-LEADS",
              "TOW-ROPE"), extra_lam=0.6),
    _Mission("car maintenance", 0.5, "flat",
             ("SCREENWASH", "OIL-5W30", "WIPER-22", "OIL-10W40", "WIPER-18", "BULB-H7",
              "WIPER-24", "BULB-H4", "TYRE-INFL", "WD40", "AIR-FRESH"), extra_lam=0.4,
             accs=(_a("FUNNEL", .10), _a("GLV-NITRILE", .05))),
    # -- Pets ----------------------------------------------------------------------------------
    _Mission("pets", 1.2, "flat",
             ("CAT-POUCH", "DOG-FOOD-2", "CAT-LITTER", "DOG-TREATS", "POOP-BAGS", "CAT-DRY",
              "CAT-TREATS", "DOG-FOOD-6", "DOG-TOY", "FISH-FLAKES", "PET-BOWL", "DOG-LEAD",
              "DOG-BED"), extra_lam=0.8),
    _Mission("wild birds", 0.6, "birds",
             ("BIRD-SEED-2", "FAT-BALLS", "BIRD-SEED-5", "NYJER", "FEEDER-SEED", "FEEDER-FAT",
              "BIRD-TABLE"), extra_lam=0.5),
    # -- Everyday top-up -----------------------------------------------------------------------
    _Mission("top-up", 3.0, "flat", _EVERYDAY, extra_lam=0.8),
)

# Time of day: relative weight of each opening hour (8..19), weekday and weekend.
_HOURS_WEEKDAY = (0.7, 1.0, 1.1, 1.1, 1.2, 1.0, 0.9, 0.9, 1.0, 1.1, 1.0, 0.6)
_HOURS_WEEKEND = (0.5, 1.0, 1.4, 1.5, 1.4, 1.3, 1.2, 1.0, 0.8, 0.6, 0.5, 0.3)
_WEEKDAY_TRAFFIC = (0.90, 0.85, 0.90, 1.00, 1.15, 1.70, 1.35)      # Mon..Sun
_REGISTER_P = ((0.42, 0.33, 0.17, 0.08), (0.30, 0.28, 0.24, 0.18))  # weekday, weekend


@dataclass(frozen=True)
class DemoSummary:
    """What ``build_demo_store`` wrote."""

    path: Path
    products: int
    sales: int
    lines: int
    seconds: float


@dataclass
class _Lines:
    """Generated sale lines, one entry per line (``sale`` indexes the sales passed in)."""

    sale: np.ndarray       # int64
    prod: np.ndarray       # int64 product index
    qty: np.ndarray        # float64
    price: np.ndarray      # float64 unit price
    key: np.ndarray        # float64 ring-up order within the sale


def _cdf_rows(weights: np.ndarray) -> np.ndarray:
    """Row-normalised cumulative weights, last column exactly 1."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w, axis=-1)
    cdf /= cdf[..., -1:]
    cdf[..., -1] = 1.0
    return cdf


def _draw_rows(cdf: np.ndarray, row: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw for each element from its own row of ``cdf`` (vectorised).

    Rows are laid end to end with row ``r`` shifted by ``r``, so the flattened array is
    monotone and one ``searchsorted`` answers every draw.
    """
    n_rows, k = cdf.shape
    flat = (cdf + np.arange(n_rows, dtype=np.float64)[:, None]).ravel()
    pos = np.searchsorted(flat, row.astype(np.float64) + u, side="right")
    return np.minimum(pos - row.astype(np.int64) * k, k - 1)


def _ring_up_order(sale: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Indices sorting lines by sale, then by ``key`` (one integer sort; lexsort is slower).

    ``key`` lies in [-1, 31); it is quantised to 1e-6, far finer than any gap that matters.
    """
    q = np.clip(np.rint((key + 1.0) * 1e6), 0, (1 << 25) - 1).astype(np.int64)
    return np.argsort((sale.astype(np.int64) << 25) | q, kind="stable")


def _zipf(n: int, s: float = 1.0, q: float = 0.5) -> np.ndarray:
    w = 1.0 / (np.arange(n, dtype=np.float64) + 1.0 + q) ** s
    return w / w.sum()


def _season_table() -> tuple[list[str], np.ndarray]:
    """Season multiplier per season name and day of year (0..365), interpolated monthly."""
    names = list(_SEASONS)
    mids = np.array([15.0 + 30.44 * m for m in range(12)])
    doy = np.arange(366, dtype=np.float64)
    table = np.array([np.interp(doy, mids, np.asarray(_SEASONS[s], dtype=np.float64),
                                period=365.25) for s in names])
    return names, table


def _parse_catalogue() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    category = ""
    for raw in _CATALOGUE.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("["):
            category = line.strip("[]")
            continue
        parts = [p.strip() for p in line.split("|")]
        sku, name, price = parts[0], parts[1], float(parts[2])
        family = parts[3] if len(parts) > 3 and parts[3] else None
        qty_p, qty_max = 0.0, 1
        if len(parts) > 4 and parts[4]:
            p_text, max_text = parts[4][1:].split("x")
            qty_p, qty_max = float(p_text), int(max_text)
        rows.append({"sku": sku, "name": name, "category": category, "family": family,
                     "price": price, "qty_p": qty_p, "qty_max": qty_max})
    return rows


def _margin(sku: str, price: float) -> float:
    """A stable per-product margin: 20-32% on big tickets, up to 60% on small consumables."""
    h = (zlib.crc32(sku.encode()) % 10_000) / 10_000.0
    lo, hi = (0.20, 0.32) if price >= 100 else (0.28, 0.45) if price >= 20 else (0.38, 0.60)
    return lo + (hi - lo) * h


class DemoStoreModel:
    """The demo store's catalogue and shopping model, shared by the builder and the simulator.

    ``products`` holds the catalogue rows (sku, name, category, family, price, cost, stock,
    active); stock depends on ``seed``. ``end_date`` anchors when discontinued products were
    replaced by their successors (default: today).
    """

    def __init__(self, seed: int = 7, end_date: dt.date | None = None) -> None:
        self.seed = int(seed)
        self.end_date = end_date or dt.date.today()
        cat = _parse_catalogue()
        self.skus: list[str] = [r["sku"] for r in cat]
        if len(set(self.skus)) != len(self.skus):
            raise AssertionError("duplicate sku in the demo catalogue")
        self.index: dict[str, int] = {s: i for i, s in enumerate(self.skus)}
        n = len(cat)
        self._sku_arr = np.array(self.skus, dtype=object)
        self._price = np.array([r["price"] for r in cat], dtype=np.float64)
        self._qty_p = QTY_SCALE * np.array([r["qty_p"] for r in cat], dtype=np.float64)
        self._qty_max = np.array([r["qty_max"] for r in cat], dtype=np.int64)

        # discontinued -> successor, with the switch-over day (proleptic ordinal)
        self._disc_old = np.array([self.index[o] for o, _, _ in _DISCONTINUED], dtype=np.int64)
        self._disc_new = np.array([self.index[s] for _, s, _ in _DISCONTINUED], dtype=np.int64)
        self._disc_day = np.array([self.end_date.toordinal() - d for _, _, d in _DISCONTINUED],
                                  dtype=np.int64)
        inactive = set(self._disc_old.tolist())

        # stock: seed-dependent; ~3% random out of stock plus a few popular accessories
        rng = np.random.default_rng([self.seed, 101])
        price = self._price
        stock = np.where(price >= 100, rng.integers(1, 16, n),
                         np.where(price >= 20, rng.integers(2, 61, n), rng.integers(5, 201, n)))
        active = np.ones(n, dtype=np.int64)
        active[list(inactive)] = 0
        stock[list(inactive)] = 0
        candidates = np.array([i for i in range(n) if i not in inactive
                               and self.skus[i] not in _SHOWCASE], dtype=np.int64)
        out = rng.choice(candidates, size=max(1, round(0.03 * n)), replace=False)
        popular_accs = sorted({self.index[a] for m in _MISSIONS for acc in m.accs
                               if max(acc.prob) >= 0.2 for a in acc.alts} - inactive
                              - {self.index[s] for s in _SHOWCASE})
        out = np.union1d(out, rng.choice(np.array(popular_accs), size=3, replace=False))
        stock[out] = 0
        self._stock = stock.astype(np.int64)
        self._active = active
        self.products: list[dict[str, Any]] = [
            {"sku": r["sku"], "name": r["name"], "category": r["category"],
             "family": r["family"], "price": r["price"],
             "cost": round(r["price"] * (1.0 - _margin(r["sku"], r["price"])), 2),
             "stock": int(self._stock[i]), "active": int(self._active[i])}
            for i, r in enumerate(cat)]

        # missions: per-day-of-year probabilities, core/accessory index arrays
        season_names, season_table = _season_table()
        weights = np.array([m.weight for m in _MISSIONS], dtype=np.float64)
        rows = np.array([season_names.index(m.season) for m in _MISSIONS])
        mission_by_day = weights[:, None] * season_table[rows]            # (M, 366)
        self._traffic = mission_by_day.sum(axis=0)                        # store traffic by doy
        self._mission_cdf = _cdf_rows(mission_by_day.T)                   # (366, M)
        self._missions = [self._compile(m) for m in _MISSIONS]
        self._everyday = np.array([self.index[s] for s in _EVERYDAY], dtype=np.int64)
        self._everyday_cdf = np.cumsum(_zipf(len(_EVERYDAY), 1.0, 2.0))
        self._everyday_cdf[-1] = 1.0

    # -- model --------------------------------------------------------------------------------
    def _compile(self, m: _Mission) -> dict[str, Any]:
        k = len(m.core)
        core_p = np.asarray(m.core_p if m.core_p is not None else _zipf(k, 1.0, 1.0),
                            dtype=np.float64)
        if len(core_p) != k:
            raise AssertionError(f"mission {m.name}: core_p length")
        accs = []
        for acc in m.accs:
            prob = np.asarray(acc.prob if len(acc.prob) == k else acc.prob * k, dtype=np.float64)
            if len(prob) != k:
                raise AssertionError(f"mission {m.name}: accessory {acc.alts} prob length")
            alt_p = np.asarray(acc.alt_p if acc.alt_p else [1.0] * len(acc.alts), np.float64)
            accs.append((np.array([self.index[a] for a in acc.alts], dtype=np.int64),
                         alt_p / alt_p.sum(), prob))
        return {"name": m.name, "core": np.array([self.index[c] for c in m.core], np.int64),
                "core_p": core_p / core_p.sum(), "extra_lam": m.extra_lam,
                "second_p": m.second_p, "accs": accs}

    def traffic(self, doy: np.ndarray) -> np.ndarray:
        """Relative store traffic on each day of year (0..365) from the mission seasons."""
        return self._traffic[np.asarray(doy, dtype=np.int64)]

    def generate_lines(self, rng: np.random.Generator, doy: np.ndarray,
                       day: np.ndarray) -> _Lines:
        """Lines of ``len(doy)`` sales: ``doy`` day of year (0..365), ``day`` date ordinal.

        One pass per mission present, never per sale. Lines come back sorted by sale, then
        ring-up order, with duplicate products in a sale collapsed to the first.
        """
        n = len(doy)
        doy = np.asarray(doy, dtype=np.int64)
        parts_sale: list[np.ndarray] = []
        parts_prod: list[np.ndarray] = []
        parts_key: list[np.ndarray] = []

        def add(sale: np.ndarray, prod: np.ndarray, key: np.ndarray) -> None:
            if len(sale):
                parts_sale.append(sale)
                parts_prod.append(prod)
                parts_key.append(key)

        # one or two missions per sale ("slots"), drawn from the day's seasonal mix
        second = np.flatnonzero(rng.random(n) < SECOND_MISSION_P)
        slot_sale = np.concatenate([np.arange(n, dtype=np.int64), second])
        slot_rank = np.concatenate([np.zeros(n), np.ones(len(second))])
        mission = _draw_rows(self._mission_cdf, doy[slot_sale], rng.random(len(slot_sale)))
        order = np.argsort(mission, kind="stable")
        bounds = np.searchsorted(mission[order], np.arange(len(self._missions) + 1))
        for mi, mdef in enumerate(self._missions):
            sel = order[bounds[mi]:bounds[mi + 1]]
            k = len(sel)
            if k == 0:
                continue
            sale = slot_sale[sel]
            base = slot_rank[sel] * 10.0
            core, core_p = mdef["core"], mdef["core_p"]
            primary = rng.choice(len(core), size=k, p=core_p)
            add(sale, core[primary], base)
            if mdef["extra_lam"] > 0:
                ne = np.minimum(rng.poisson(mdef["extra_lam"], k), 5)
                tot = int(ne.sum())
                if tot:
                    rep = np.repeat(np.arange(k), ne)
                    add(sale[rep], core[rng.choice(len(core), size=tot, p=core_p)],
                        base[rep] + 0.1 + 0.8 * rng.random(tot))
            if mdef["second_p"] > 0 and len(core) > 1:
                two = np.flatnonzero(rng.random(k) < mdef["second_p"])
                if len(two):
                    other = (primary[two] + rng.integers(1, len(core), len(two))) % len(core)
                    add(sale[two], core[other], base[two] + 0.5)
            for alts, alt_p, prob in mdef["accs"]:
                hit = np.flatnonzero(rng.random(k) < prob[primary])
                if len(hit):
                    pick = alts[rng.choice(len(alts), size=len(hit), p=alt_p)] \
                        if len(alts) > 1 else np.full(len(hit), alts[0])
                    add(sale[hit], pick, base[hit] + 1.0 + 5.0 * rng.random(len(hit)))

        # everyday filler (long tail) and uniform noise, anywhere in the ring-up
        nf = rng.poisson(FILLER_LAMBDA, n)
        tot = int(nf.sum())
        fill_sale = np.repeat(np.arange(n, dtype=np.int64), nf)
        fill = self._everyday[np.searchsorted(self._everyday_cdf, rng.random(tot), side="right")]
        add(fill_sale, fill, 20.0 * rng.random(tot))
        noise_sale = np.flatnonzero(rng.random(n) < NOISE_P)
        add(noise_sale, rng.integers(0, len(self.skus), len(noise_sale)),
            20.0 * rng.random(len(noise_sale)))

        sale = np.concatenate(parts_sale) if parts_sale else np.zeros(0, np.int64)
        prod = np.concatenate(parts_prod).astype(np.int64) if parts_prod else np.zeros(0, np.int64)
        key = np.concatenate(parts_key) if parts_key else np.zeros(0)

        # discontinued products: the old one before its switch-over day, the successor after
        day_line = np.asarray(day, dtype=np.int64)[sale]
        for old, new, cut in zip(self._disc_old, self._disc_new, self._disc_day, strict=True):
            before = day_line < cut
            prod[(prod == new) & before] = old
            prod[(prod == old) & ~before] = new

        # ring-up order; a product appears once per sale
        o = _ring_up_order(sale, key)
        sale, prod, key = sale[o], prod[o], key[o]
        _, first = np.unique(sale * len(self.skus) + prod, return_index=True)
        first.sort()
        sale, prod, key = sale[first], prod[first], key[first]

        m = len(sale)
        qty = np.ones(m, dtype=np.float64)
        multi = np.flatnonzero(rng.random(m) < self._qty_p[prod])
        if len(multi):
            qty[multi] = rng.integers(2, self._qty_max[prod[multi]] + 1).astype(np.float64)
        price = self._price[prod].copy()
        disc = np.flatnonzero(rng.random(m) < DISCOUNT_P)
        if len(disc):
            factor = np.asarray(DISCOUNTS)[rng.choice(len(DISCOUNTS), size=len(disc),
                                                      p=np.asarray(DISCOUNT_WEIGHTS))]
            price[disc] = np.round(price[disc] * factor, 2)
        return _Lines(sale=sale, prod=prod, qty=qty, price=price, key=key)

    def sample_sale(self, rng: np.random.Generator, when: dt.datetime, *,
                    in_stock_only: bool = True) -> list[tuple[str, float, float]]:
        """One live sale at ``when``: ``(sku, qty, unit_price)`` lines in ring-up order.

        Drawn by the same generator as the bulk history (same missions, seasons, accessory
        probabilities). With ``in_stock_only`` (default) lines for out-of-stock or inactive
        products are left out, as a live till could not sell them; a sale left empty is
        drawn again.
        """
        doy = np.array([when.timetuple().tm_yday - 1], dtype=np.int64)
        day = np.array([when.toordinal()], dtype=np.int64)
        for _ in range(50):
            lines = self.generate_lines(rng, doy, day)
            keep = np.ones(len(lines.prod), dtype=bool)
            if in_stock_only:
                keep = (self._stock[lines.prod] > 0) & (self._active[lines.prod] == 1)
            if keep.any():
                return [(self.skus[p], float(q), float(u)) for p, q, u in
                        zip(lines.prod[keep], lines.qty[keep], lines.price[keep], strict=True)]
        raise AssertionError("the demo model gave no sellable sale in 50 draws")


# --------------------------------------------------------------------------------------------
# The bulk builder
# --------------------------------------------------------------------------------------------
@dataclass
class _History:
    sale_id: np.ndarray
    register: np.ndarray      # object
    cashier: np.ndarray       # object
    customer: np.ndarray      # object (None for no loyalty card)
    opened: np.ndarray        # object (str)
    closed: np.ndarray        # object (str)
    status: np.ndarray        # object
    line_sale_id: np.ndarray
    line_sku: np.ndarray      # object
    line_qty: np.ndarray
    line_price: np.ndarray
    line_voided: np.ndarray


def _generate_history(model: DemoStoreModel, n: int, seed: int,
                      end_date: dt.date) -> _History:
    """Sales and lines for ``n`` sales over the HISTORY_DAYS days ending at ``end_date``."""
    ss = np.random.SeedSequence([int(seed), 202])
    rng_time, rng_lines, rng_mess = (np.random.default_rng(s) for s in ss.spawn(3))

    # -- days: weekday x seasonal traffic x slight growth; closed Christmas and New Year ----------
    start = end_date - dt.timedelta(days=HISTORY_DAYS - 1)
    days = np.arange(HISTORY_DAYS, dtype=np.int64)
    dates = np.datetime64(start.isoformat(), "D") + days
    weekday = (dates.astype(np.int64) + 3) % 7                     # 1970-01-01 was a Thursday
    doy_of_day = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    month_day = np.array([d[5:] for d in np.datetime_as_string(dates)])
    closed_day = (month_day == "12-25") | (month_day == "01-01")
    w = np.asarray(_WEEKDAY_TRAFFIC)[weekday] * model.traffic(doy_of_day) * (1 + 0.08 * days / 730)
    w[closed_day] = 0.0
    per_day = rng_time.multinomial(n, w / w.sum())
    sale_day = np.repeat(days, per_day)
    weekend = weekday[sale_day] >= 5

    # -- time of day, register, cashier, loyalty card --------------------------------------------
    hour_cdf = _cdf_rows(np.array([_HOURS_WEEKDAY, _HOURS_WEEKEND]))
    hour = _draw_rows(hour_cdf, weekend.astype(np.int64), rng_time.random(n))
    opened_sec = (OPEN_HOUR + hour) * 3600 + rng_time.integers(0, 3600, n)
    o = np.argsort(sale_day * 86_400 + opened_sec, kind="stable")   # sale_id follows the clock
    sale_day, opened_sec, weekend = sale_day[o], opened_sec[o], weekend[o]

    reg = _draw_rows(_cdf_rows(np.array(_REGISTER_P)), weekend.astype(np.int64),
                     rng_time.random(n))
    roster = np.argsort(rng_time.random((HISTORY_DAYS, len(CASHIERS))), axis=1)[:, :8]
    roster = roster.reshape(HISTORY_DAYS, len(REGISTERS), 2)
    shift = (opened_sec >= 14 * 3600).astype(np.int64)

    pool_ids = rng_time.choice(np.arange(1, 100_000), size=LOYALTY_POOL, replace=False)
    pool = np.array([f"L{i:06d}" for i in pool_ids], dtype=object)
    member = rng_time.random(n) < LOYALTY_SHARE
    who = np.searchsorted(np.cumsum(_zipf(LOYALTY_POOL, 0.9, 20.0)),
                          rng_time.random(int(member.sum())), side="right")
    customer = np.full(n, None, dtype=object)
    customer[member] = pool[np.minimum(who, LOYALTY_POOL - 1)]

    # -- which sales are returns, which are voided --------------------------------------------------
    is_return = rng_mess.random(n) < RETURN_SALE_P
    normal = np.flatnonzero(~is_return)
    status = np.full(n, "closed", dtype=object)
    status[normal[rng_mess.random(len(normal)) < VOID_SALE_P]] = "void"
    reg[is_return & (rng_mess.random(n) < 0.6)] = 0          # the service desk is register 1

    # -- baskets for ordinary sales ---------------------------------------------------------------
    ordinal = start.toordinal() + sale_day
    doy = doy_of_day[sale_day]
    lines = model.generate_lines(rng_lines, doy[normal], ordinal[normal])
    l_sale = normal[lines.sale]
    l_prod, l_qty, l_price, l_key = lines.prod, lines.qty, lines.price, lines.key
    l_void = np.zeros(len(l_sale), dtype=np.int64)

    # -- returns: refund an item sold earlier (own sale, or an exchange within a sale) -------------
    exch = normal[(rng_mess.random(len(normal)) < EXCHANGE_P)]
    ret_sales = np.flatnonzero(is_return)
    n_ret = 1 + (rng_mess.random(len(ret_sales)) < 0.2)
    r_sale = np.concatenate([np.repeat(ret_sales, n_ret), exch])
    r_key = np.concatenate([np.arange(len(r_sale) - len(exch)) % 2, np.full(len(exch), -1.0)])
    if len(l_sale):
        # a line of an earlier sale (lines are sorted by sale, so "earlier" is an index bound)
        bound = np.searchsorted(l_sale, r_sale)
        src = np.floor(rng_mess.random(len(r_sale)) * bound).astype(np.int64)
        ok = bound > 0
        src = np.where(ok, src, 0)
        r_prod = np.where(ok, l_prod[src], rng_mess.integers(0, len(model.skus), len(r_sale)))
        r_qty = -np.where(ok, l_qty[src], 1.0)
        r_price = np.where(ok, l_price[src], model._price[r_prod])
    else:
        r_prod = np.zeros(0, np.int64)
        r_qty = r_price = np.zeros(0)
        r_sale = r_key = np.zeros(0)

    # -- voided lines: a double scan or a mis-scan, voided straight after ----------------------
    vsel = np.flatnonzero(rng_mess.random(len(l_sale)) < VOID_LINE_P)
    mis = rng_mess.random(len(vsel)) < 0.4
    sellable = np.flatnonzero(model._active == 1)
    v_prod = np.where(mis, sellable[rng_mess.integers(0, len(sellable), len(vsel))],
                      l_prod[vsel])
    v_prod = v_prod.astype(np.int64)
    v_price = model._price[v_prod]

    sale_all = np.concatenate([l_sale, r_sale.astype(np.int64), l_sale[vsel]])
    prod_all = np.concatenate([l_prod, r_prod.astype(np.int64), v_prod])
    qty_all = np.concatenate([l_qty, r_qty, np.ones(len(vsel))])
    price_all = np.concatenate([l_price, r_price, v_price])
    key_all = np.concatenate([l_key, r_key.astype(np.float64), l_key[vsel] + 1e-3])
    void_all = np.concatenate([l_void, np.zeros(len(r_sale), np.int64),
                               np.ones(len(vsel), np.int64)])
    o = _ring_up_order(sale_all, key_all)
    sale_all, prod_all, qty_all = sale_all[o], prod_all[o], qty_all[o]
    price_all, void_all = price_all[o], void_all[o]

    # -- open/close times from the number of lines ----------------------------------------------
    n_lines = np.bincount(sale_all, minlength=n)
    duration = 25 + 18 * n_lines + rng_time.exponential(50.0, n).astype(np.int64)
    closed_sec = np.minimum(opened_sec + duration, CLOSE_HOUR * 3600)
    # ISO 8601 text: "YYYY-MM-DDT" of the day + "HH:MM:SS" of the second (object arrays)
    day_text = np.datetime_as_string(dates).astype(object) + "T"
    sec_text = np.array([f"{h:02d}:{m:02d}:{x:02d}" for h in range(24) for m in range(60)
                         for x in range(60)], dtype=object)
    opened = day_text[sale_day] + sec_text[opened_sec]
    closed = day_text[sale_day] + sec_text[closed_sec]

    registers = np.array(REGISTERS, dtype=object)
    cashiers = np.array(CASHIERS, dtype=object)
    return _History(
        sale_id=np.arange(1, n + 1, dtype=np.int64),
        register=registers[reg],
        cashier=cashiers[roster[sale_day, reg, shift]],
        customer=customer, opened=opened, closed=closed, status=status,
        line_sale_id=sale_all + 1, line_sku=model._sku_arr[prod_all],
        line_qty=qty_all, line_price=price_all, line_voided=void_all)


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, total, size):
        yield lo, min(total, lo + size)


def _table_statements() -> tuple[list[str], list[str]]:
    """REFERENCE_DDL split into its CREATE TABLE and CREATE INDEX statements (verbatim)."""
    stmts = [s.strip() for s in REFERENCE_DDL.split(";") if s.strip()]
    tables = [s for s in stmts if s.upper().startswith("CREATE TABLE")]
    indexes = [s for s in stmts if s not in tables]
    return tables, indexes


def build_demo_store(path: Path, sales: int = 20_000, seed: int = 7,
                     end_date: dt.date | None = None,
                     progress: ProgressFn | None = None,
                     cancelled: CancelledFn | None = None) -> DemoSummary:
    """Write a new demo till database at ``path`` (overwritten atomically).

    The file is built under a temporary name in the same folder and moved onto ``path`` only
    when complete, so a crash or cancel never leaves a half-written database. ``progress``
    gets ``(fraction, message)``; when ``cancelled()`` turns true the build stops, the
    temporary file is removed and :class:`~possuggest.core.errors.Cancelled` is raised.
    """
    t0 = time.perf_counter()
    path = Path(path)
    if sales < 0:
        raise PossuggestError(f"the number of demo sales must be 0 or more, not {sales}")
    end = end_date or dt.date.today()

    def report(frac: float, msg: str) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, frac)), msg)

    def check() -> None:
        if cancelled is not None and cancelled():
            raise Cancelled("building the demo store was cancelled")

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PossuggestError(f"cannot create the demo store in {path.parent}: "
                              f"{exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    conn: sqlite3.Connection | None = None
    try:
        check()
        report(0.0, "generating sales")
        model = DemoStoreModel(seed, end)
        hist = _generate_history(model, int(sales), seed, end)
        n_lines = len(hist.line_sale_id)
        log.info("generated %d sales with %d lines in %.1f s", sales, n_lines,
                 time.perf_counter() - t0)
        check()
        report(0.25, "writing sales")

        conn = sqlite3.connect(tmp, isolation_level=None)
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-65536")
        tables, indexes = _table_statements()
        conn.execute("BEGIN")
        for stmt in tables:
            conn.execute(stmt)
        conn.executemany(
            "INSERT INTO products (sku, name, category, family, price, cost, stock, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(p["sku"], p["name"], p["category"], p["family"], p["price"], p["cost"],
              p["stock"], p["active"]) for p in model.products])

        total_rows = max(1, sales + n_lines)
        done = 0
        for lo, hi in _chunks(sales, _INSERT_CHUNK):
            check()
            conn.executemany(
                "INSERT INTO sales (sale_id, register_id, cashier_id, customer_id, opened_at, "
                "closed_at, status) VALUES (?, ?, ?, ?, ?, ?, ?)",
                zip(hist.sale_id[lo:hi].tolist(), hist.register[lo:hi].tolist(),
                    hist.cashier[lo:hi].tolist(), hist.customer[lo:hi].tolist(),
                    hist.opened[lo:hi].tolist(), hist.closed[lo:hi].tolist(),
                    hist.status[lo:hi].tolist(), strict=True))
            done += hi - lo
            report(0.25 + 0.65 * done / total_rows, "writing sales")
        for lo, hi in _chunks(n_lines, _INSERT_CHUNK):
            check()
            conn.executemany(
                "INSERT INTO sale_lines (line_id, sale_id, sku, qty, unit_price, voided) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                zip(range(lo + 1, hi + 1), hist.line_sale_id[lo:hi].tolist(),
                    hist.line_sku[lo:hi].tolist(), hist.line_qty[lo:hi].tolist(),
                    hist.line_price[lo:hi].tolist(), hist.line_voided[lo:hi].tolist(),
                    strict=True))
            done += hi - lo
            report(0.25 + 0.65 * done / total_rows, "writing sale lines")
        del hist
        check()
        report(0.9, "creating indexes")
        for stmt in indexes:
            conn.execute(stmt)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
        conn = None
        check()
        # stale sidecar files of an earlier database at ``path`` must not meet the new one
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{path}{suffix}")
        os.replace(tmp, path)
    except BaseException:
        if conn is not None:
            conn.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    seconds = time.perf_counter() - t0
    log.info("demo store %s: %d products, %d sales, %d lines in %.1f s", path,
             len(model.products), sales, n_lines, seconds)
    report(1.0, "done")
    return DemoSummary(path=path, products=len(model.products), sales=int(sales),
                       lines=n_lines, seconds=seconds)
