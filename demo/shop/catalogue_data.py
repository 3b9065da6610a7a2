"""Words the seed command combines into a believable catalogue."""

from __future__ import annotations

CATEGORIES: dict[str, list[str]] = {
    "Laptops": ["Laptop", "Ultrabook", "Notebook", "Chromebook"],
    "Phones": ["Smartphone", "Phone", "Flip Phone"],
    "Tablets": ["Tablet", "E-Reader", "Drawing Tablet"],
    "Headphones": ["Headphones", "Earbuds", "Headset"],
    "Speakers": ["Speaker", "Soundbar", "Subwoofer"],
    "Cameras": ["Camera", "Action Cam", "Lens"],
    "Monitors": ["Monitor", "Display", "Portable Screen"],
    "Keyboards": ["Keyboard", "Keypad", "Keycap Set"],
    "Mice": ["Mouse", "Trackball", "Trackpad"],
    "Storage": ["SSD", "Hard Drive", "Memory Card", "USB Stick"],
    "Networking": ["Router", "Mesh Node", "Switch", "Access Point"],
    "Smart Home": ["Smart Plug", "Thermostat", "Doorbell", "Bulb"],
    "Wearables": ["Smartwatch", "Fitness Band", "Smart Ring"],
    "Gaming": ["Controller", "Gaming Chair", "Console Stand"],
    "Kitchen": ["Kettle", "Coffee Grinder", "Toaster", "Blender"],
    "Cookware": ["Frying Pan", "Saucepan", "Dutch Oven", "Wok"],
    "Furniture": ["Desk", "Bookshelf", "Side Table", "Stool"],
    "Lighting": ["Desk Lamp", "Floor Lamp", "Light Strip"],
    "Bedding": ["Duvet", "Pillow", "Sheet Set"],
    "Bags": ["Backpack", "Messenger Bag", "Duffel", "Laptop Sleeve"],
    "Outdoor": ["Tent", "Sleeping Bag", "Camping Stove", "Lantern"],
    "Cycling": ["Bike Light", "Helmet", "Bike Lock", "Pump"],
    "Running": ["Running Shoe", "Running Vest", "Hydration Belt"],
    "Fitness": ["Yoga Mat", "Kettlebell", "Resistance Band", "Foam Roller"],
    "Books": ["Cookbook", "Novel", "Field Guide", "Atlas"],
    "Stationery": ["Notebook", "Fountain Pen", "Planner", "Pencil Set"],
    "Toys": ["Puzzle", "Building Set", "Board Game", "Kite"],
    "Garden": ["Hose", "Pruner", "Planter", "Watering Can"],
    "Tools": ["Drill", "Screwdriver Set", "Tape Measure", "Level"],
    "Pet Supplies": ["Dog Bed", "Cat Tree", "Leash", "Feeder"],
}

BRANDS = [
    "Aster", "Borealis", "Cobalt", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Isla",
    "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orchid", "Pioneer", "Quarry",
    "Ridge", "Summit", "Tundra",
]  # fmt: skip

MODELS = ["Go", "Lite", "Plus", "Pro", "Max", "Air", "Mini", "One", "X", "Studio"]

ADJECTIVES = [
    "durable", "lightweight", "compact", "quiet", "fast", "elegant", "rugged", "efficient",
    "versatile", "comfortable", "reliable", "modern", "classic", "sturdy", "portable",
]  # fmt: skip

# Shoppers the seed creates (password "shopper"); the load generator signs in as them.
SHOPPERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
SHOPPER_PASSWORD = "shopper"
