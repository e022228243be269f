"""Ordinary words for the sample articles' long tail, written for this file.

Real local news uses a great many ordinary words only once or twice: the machinist who
spoke at the hearing, the snowblower stolen from a shed, the chowder at the fundraiser.
`zipf` draws from these pools with weights falling off by rank, so the first words of a
pool are common and the last ones rare, as in real text.
"""

import bisect
import itertools

POOLS = {
    "occupation": """retired teacher|machinist|electrician|nurse|dairy farmer|carpenter|plumber|bus driver|
        paramedic|school librarian|welder|bookkeeper|hairdresser|pharmacist|mail carrier|logger|line cook|
        dental hygienist|truck driver|real estate agent|physical therapist|veterinarian|accountant|
        software engineer|lobsterman|landscaper|retired police officer|retired firefighter|home health aide|
        substitute teacher|contractor|grocery clerk|church organist|town clerk|insurance agent|baker|
        mechanic|day care owner|beekeeper|surveyor|paralegal|crossing guard|innkeeper|potter|blacksmith|
        arborist|roofer|stonemason|barber|social worker|speech therapist|optometrist|sheep farmer|
        maple sugarmaker|orchardist|snowplow driver|tow truck operator|cabinetmaker|piano tuner|
        retired engineer|retired nurse|retired minister|dispatcher|EMT|emergency room doctor|
        chiropractor|podiatrist|radiologist|auctioneer|antiques dealer|caterer|florist|seamstress|
        upholsterer|locksmith|glazier|boatbuilder|fishing guide|ski instructor|camp director|
        bus mechanic|wastewater operator|forester|game warden|park ranger|historian|archivist|
        choir director|band teacher|art teacher|gym teacher|guidance counselor|school nurse|
        cafeteria manager|custodian|paraprofessional|tax preparer|notary|surveyor's assistant|
        quarry worker|mill worker|shipfitter|tool and die maker|printer|sign painter|photographer|
        videographer|sound engineer|radio host|newspaper carrier|dairy inspector|meat cutter|
        cheesemaker|brewer|distiller|winemaker|farrier|horse trainer|dog groomer|kennel owner|
        poultry farmer|hog farmer|hay dealer|feed store clerk|hardware clerk|ironworker|lineman|
        HVAC technician|appliance repairman|chimney sweep|well driller|septic installer|excavator|
        crane operator|bridge inspector|civil engineer|land surveyor|architect|interior designer|
        retired judge|probate lawyer|public defender|court reporter|bail commissioner|
        respiratory therapist|lab technician|bank teller|loan officer|credit union manager|payroll clerk|
        hospice nurse|midwife|doula|child care worker|nanny|preschool teacher|reading tutor|school bus monitor|
        lunch lady|athletic trainer|lifeguard|swim coach|golf pro|greenskeeper|groundskeeper|handyman|
        house painter|drywaller|floor installer|tile setter|glass blower|jeweler|watchmaker|cobbler|tailor|
        dressmaker|quilter|weaver|knitter|woodturner|furniture maker|luthier|sign maker|engraver|
        taxidermist|butcher|fishmonger|short-order cook|dishwasher|bartender|waitress|innkeeper's son|
        motel manager|campground host|tour guide|bus dispatcher|railroad conductor|ferry captain|tugboat pilot|
        harbor pilot|shellfish warden|clam digger|oyster farmer|fish cutter|cannery worker|sawyer|log scaler|
        forest technician|trail builder|surveyor's aide|map maker|GIS analyst|planner|grant writer|
        fundraiser|nonprofit director|food pantry volunteer|church deacon|rabbi|imam|pastor|youth minister|
        hospital chaplain|funeral director|cemetery sexton|gravedigger|town historian|genealogist|
        retired Navy officer|Army veteran|Marine veteran|National Guard sergeant|state trooper|deputy sheriff|
        corrections officer|probation officer|court clerk|magistrate|justice of the peace|town moderator|
        assessor|tax collector|treasurer|selectman's assistant|DPW foreman|water superintendent|
        meter reader|lineworker|cable installer|cell tower climber|IT consultant|web designer|graphic designer|
        freelance writer|novelist|poet|painter|sculptor|potter's apprentice|music teacher|piano teacher|
        organ builder|bell ringer|stage manager|lighting designer|costume designer|film projectionist""",
    "item": """chainsaw|generator|snowblower|leaf blower|power washer|table saw|air compressor|kayak|
        canoe|mountain bike|e-bike|dirt bike|snowmobile|trailer|riding mower|weed whacker|welder|
        extension ladder|tool chest|drill press|nail gun|impact driver|floor jack|pressure cooker|
        space heater|wood stove|propane tank|fishing rod|tackle box|trolling motor|outboard motor|
        hunting rifle|crossbow|bow saw|log splitter|wheelbarrow|rototiller|hedge trimmer|pole saw|
        sump pump|dehumidifier|air conditioner|window fan|television|laptop|tablet|game console|
        camera|drone|guitar|amplifier|keyboard|violin|trumpet|saxophone|bicycle|scooter|stroller|
        car seat|crib|high chair|recliner|sofa|dresser|bookcase|rocking chair|quilt|sewing machine|
        typewriter|record player|cast-iron skillet|stand mixer|bread machine|slow cooker|toolbox|
        catalytic converter|tailgate|tire|rim|battery|radiator|muffler|headlight|license plate|
        mailbox|lawn ornament|birdbath|flag|wind chime|porch light|security camera|doorbell camera|
        package|purse|wallet|cellphone|wedding ring|necklace|watch|jewelry box|coin collection|
        copper pipe|copper wire|scrap metal|catalytic converters|lumber|plywood|shingles|insulation|
        roll of fencing|bag of cement|pallet of bricks|bundle of rebar|spool of cable|gas can|
        cooler|tent|sleeping bag|camp stove|snowshoes|cross-country skis|ice skates|hockey stick|
        baseball glove|football|basketball hoop|trampoline|swing set|hot tub|pool filter|grill|
        smoker|fire pit|patio set|umbrella|garden hose|sprinkler|planter|bird feeder|bee hive|
        chicken coop|rabbit hutch|dog crate|saddle|bridle|hay wagon|manure spreader|tractor|
        skid steer|backhoe|excavator|dump truck|flatbed|box truck|cargo van|pickup truck|minivan|
        station wagon|motorcycle|moped|golf cart|four-wheeler|side-by-side|pontoon boat|sailboat|
        leaf rake|snow shovel|ice auger|ice fishing shanty|ice skates|sled|toboggan|snowboard|ski rack|
        roof rack|bike rack|trailer hitch|winch|tow strap|come-along|chain hoist|engine hoist|welding torch|
        plasma cutter|bandsaw|jointer|planer|router table|belt sander|orbital sander|shop vac|paint sprayer|
        ladder jack|scaffolding|sawhorses|workbench|vise|anvil|forge|kiln|pottery wheel|loom|spinning wheel|
        quilting frame|embroidery machine|3D printer|label maker|fax machine|copier|filing cabinet|safe|
        cash register|credit card reader|scale|meat slicer|deli case|soft-serve machine|popcorn machine|
        cotton candy machine|coffee urn|punch bowl|folding tables|folding chairs|pop-up tent|PA system|
        microphone|projector|screen|spotlight|fog machine|drum kit|bass guitar|banjo|mandolin|accordion|
        harmonica|tuba|French horn|clarinet|flute|xylophone|church bell|steeple clock|weather vane|
        flagpole|bench|picnic table|bike|tricycle|wagon|red wagon|rocking horse|dollhouse|train set|
        model airplane|kite|fishing net|lobster trap|crab pot|minnow trap|decoy|tree stand|trail camera|
        binoculars|spotting scope|telescope|metal detector|gold pan|canoe paddle|life jackets|rowboat|
        jon boat|bass boat|jet ski|paddleboard|surfboard|wet suit|scuba tank|dock section|boat lift|mooring""",
    "food": """chowder|chili|pancakes|maple syrup|apple pie|blueberry pie|pumpkin bread|cornbread|
        baked beans|brown bread|meatballs|lasagna|mac and cheese|pierogi|kielbasa|sauerkraut|
        corned beef|shepherd's pie|pot roast|fried clams|lobster rolls|crab cakes|fish tacos|
        haddock|cod cakes|clam cakes|oyster stew|venison stew|beef stew|chicken soup|split pea soup|
        minestrone|gumbo|jambalaya|tamales|empanadas|enchiladas|pupusas|falafel|hummus|baklava|
        spanakopita|samosas|dumplings|egg rolls|fried rice|pad thai|pho|bibimbap|sushi|ramen|
        bagels|doughnuts|cider doughnuts|whoopie pies|fudge|brownies|cookies|cupcakes|cheesecake|
        strawberry shortcake|bread pudding|rice pudding|apple crisp|peach cobbler|cinnamon rolls|
        sticky buns|scones|muffins|biscuits|sausage gravy|hash browns|home fries|scrambled eggs|
        French toast|waffles|crepes|omelets|quiche|cheddar|goat cheese|maple candy|kettle corn|
        cotton candy|fried dough|hot dogs|hamburgers|pulled pork|brisket|ribs|chicken wings|
        barbecue chicken|turkey dinner|ham dinner|spaghetti supper|bean supper|roast beef|
        coleslaw|potato salad|macaroni salad|green beans|squash|corn on the cob|fiddleheads|
        strawberries|blueberries|raspberries|apples|pears|pumpkins|gourds|sweet corn|tomatoes|
        zucchini|cucumbers|lettuce|kale|garlic|onions|potatoes|carrots|beets|turnips|parsnips|
        rhubarb|honey|jam|pickles|salsa|hot sauce|granola|trail mix|popcorn|pretzels|lemonade|
        iced tea|hot cocoa|coffee|apple cider|root beer|milkshakes|ice cream|sherbet|frozen custard|
        whoopie pie|blueberry muffins|corn chowder|fish chowder|lobster bisque|clam chowder|stuffed quahogs|
        steamers|fried scallops|baked haddock|salmon cakes|tuna melts|grilled cheese|tomato soup|French onion soup|
        beef barley soup|chicken pot pie|turkey pot pie|meat pie|tourtière|pork pie|poutine|fries|onion rings|
        mozzarella sticks|nachos|quesadillas|burritos|tacos|chili dogs|sausage and peppers|meatball subs|
        Italian subs|roast beef sandwiches|Reubens|BLTs|egg salad|chicken salad|tuna salad|pasta salad|
        three-bean salad|deviled eggs|stuffed mushrooms|spinach dip|buffalo dip|cheese and crackers|
        kettle chips|caramel apples|candy apples|maple cream|maple sugar|maple cotton candy|sugar on snow|
        boiled dinner|red flannel hash|johnnycakes|Indian pudding|hermit cookies|molasses cookies|
        snickerdoodles|chocolate chip cookies|oatmeal cookies|lemon bars|blondies|pecan pie|pumpkin pie|
        mince pie|custard pie|cream pie|banana bread|zucchini bread|soda bread|sourdough|rye bread|
        baguettes|croissants|danishes|bear claws|crullers|fritters|apple fritters|donut holes|cider slushies|
        maple lattes|hot cider|mulled cider|eggnog|root beer floats|frappes|sundaes|banana splits""",
    "tree": """maple|oak|pine|hemlock|spruce|birch|beech|ash|elm|willow|poplar|aspen|cedar|tamarack|
        sycamore|chestnut|hickory|walnut|butternut|cherry|apple tree|pear tree|linden|basswood|
        locust|catalpa|larch|fir|balsam|white pine|red oak|sugar maple|silver maple|Norway maple|
        paper birch|yellow birch|black cherry|red pine|pitch pine|cottonwood|hornbeam|ironwood|
        sassafras|dogwood|magnolia|crabapple|lilac|forsythia|rhododendron|mountain laurel|
        sumac|alder|buckthorn|bittersweet|knotweed|barberry|honeysuckle|multiflora rose""",
    "animal": """deer|moose|black bear|coyote|fox|bobcat|fisher|porcupine|raccoon|skunk|woodchuck|beaver|
        muskrat|otter|mink|opossum|rabbit|snowshoe hare|wild turkey|bald eagle|osprey|heron|loon|
        Canada geese|mallards|wood ducks|red-tailed hawk|barred owl|great horned owl|woodpecker|
        bluebirds|chickadees|cardinals|robins|crows|ravens|turkey vultures|snapping turtle|
        painted turtle|spotted salamander|bullfrogs|spring peepers|garter snake|brook trout|
        rainbow trout|smallmouth bass|largemouth bass|yellow perch|pickerel|pike|walleye|bluegill|
        catfish|eels|alewives|ticks|mosquitoes|black flies|honeybees|bumblebees|monarch butterflies|
        fireflies|dairy cows|beef cattle|sheep|goats|pigs|chickens|ducks|alpacas|llamas|horses|
        ponies|donkeys|mules|barn cats|stray dogs|a loose pit bull|a runaway cow""",
    "material": """granite|brick|fieldstone|cinder block|concrete|asphalt|gravel|crushed stone|loam|
        sand|clay|cast iron|ductile iron|PVC|copper|steel|aluminum|vinyl siding|clapboard|cedar shingles|
        slate|tin|asbestos|lead paint|fiberglass|plywood|pressure-treated lumber|oak beams|hemlock planks|
        rebar|chain-link|wrought iron|stucco|terra cotta|tar paper|rubber membrane|standing-seam metal""",
    "building": """grange hall|church basement|VFW post|American Legion hall|fire station|police station|
        town garage|transfer station|water tower|pump house|sewer plant|senior center|teen center|
        community center|library annex|town pound|old schoolhouse|covered bridge|mill building|
        shoe factory|tannery|paper mill|woolen mill|grist mill|sawmill|creamery|train depot|
        freight house|bandstand|gazebo|ice rink|skating pond|ball field|tennis courts|pickleball courts|
        skate park|dog park|boat ramp|town beach|campground|fairgrounds|sugar shack|farm stand|
        general store|gas station|diner|motel|inn|bed-and-breakfast|trailer park|mobile home park|
        apartment block|duplex|triple-decker|farmhouse|cape|ranch house|split-level|colonial|
        Victorian|log cabin|camp|barn|silo|carriage house|garage|shed|greenhouse|chicken coop|
        town hall annex|old town hall|opera house|movie house|drive-in|roller rink|bowling alley|pool hall|
        mill pond|dam spillway|fish ladder|boathouse|lighthouse|harbor master's shack|bait shop|marina|
        fish pier|town landing|ferry terminal|bus depot|park-and-ride|railroad crossing|trestle|stone arch bridge|
        iron bridge|footbridge|tunnel|overpass|underpass|rest area|scenic turnout|fire tower|ski lodge|
        warming hut|sugarhouse|cider mill|cheese cave|milking parlor|free-stall barn|hay barn|bank barn|
        corn crib|smokehouse|springhouse|icehouse|root cellar|outhouse|woodshed|toolshed|potting shed|
        pole barn|quonset hut|storage unit|self-storage building|warehouse|loading dock|machine shop|
        foundry|print shop|bakery annex|commercial kitchen|food truck lot|strip mall|plaza|outlet|
        former bank|former church|former school|former firehouse|former post office|former mill""",
    "describing": """two-story|three-story|single-family|four-unit|century-old|brick|wood-frame|vacant|
        boarded-up|rusted|dented|unlocked|unregistered|uninsured|abandoned|overgrown|flooded|washed-out|
        frost-heaved|pothole-ridden|gravel|dirt|paved|one-lane|two-lane|dead-end|narrow|steep|winding|
        icy|slushy|muddy|dusty|smoky|charred|gutted|collapsed|sagging|leaking|crumbling|cracked|
        brand-new|secondhand|refurbished|donated|borrowed|hand-painted|homemade|handwritten|
        hand-lettered|laminated|stapled|tattered|faded|weathered|mossy|snow-covered|ice-covered|
        tree-lined|fenced|gated|posted|private|public|municipal|state-owned|town-owned|county-owned|
        part-time|full-time|volunteer|paid|on-call|unpaid|elected|appointed|interim|acting|longtime|
        lifelong|third-generation|fourth-generation|retired|former|newly hired|first-year|veteran|
        shingled|clapboarded|slate-roofed|tin-roofed|flat-roofed|gabled|porched|double-wide|single-wide|
        sprawling|cramped|drafty|leaky|mildewed|moldy|rotted|rotting|peeling|freshly painted|newly paved|
        freshly plowed|half-built|half-empty|half-finished|long-vacant|long-closed|long-delayed|long-awaited|
        much-debated|hotly debated|oft-repeated|little-used|well-used|well-worn|well-kept|well-attended|
        sparsely attended|standing-room-only|packed|overflowing|sold-out|rain-soaked|sun-baked|wind-whipped|
        storm-damaged|fire-damaged|water-damaged|flood-prone|erosion-prone|accident-prone|crash-prone|
        poorly lit|dimly lit|brightly lit|unmarked|unnamed|unpaved|unplowed|unsanded|unmaintained|
        unfinished|unoccupied|uninhabitable|condemned|historic|landmark|listed|protected|eligible|
        six-figure|seven-figure|record-setting|record-breaking|first-ever|last-minute|last-ditch|
        hard-fought|hard-won|closely watched|closely divided|evenly split|unanimous|contentious|heated|
        lengthy|brief|routine|unusual|rare|one-of-a-kind|homegrown|hand-built|hand-carved|hand-stitched""",
    "verb_past": """hauled|patched|plowed|sanded|salted|graded|paved|dredged|mowed|pruned|trimmed|
        logged|cleared|bulldozed|excavated|backfilled|poured|framed|shingled|insulated|wired|plumbed|
        painted|scraped|sealed|caulked|welded|bolted|hammered|sawed|split|stacked|delivered|unloaded|
        towed|jump-started|rescued|evacuated|sheltered|fed|housed|drove|walked|carried|dragged|
        lifted|loaded|swept|shoveled|chipped|raked|bagged|sorted|counted|tallied|weighed|measured|
        surveyed|inspected|tested|sampled|flagged|posted|mailed|emailed|phoned|texted|petitioned|
        testified|objected|seconded|abstained|recused|tabled|amended|adjourned|recessed|reconvened""",
    # The chat-model voice's own tail: upbeat adjectives and abstractions, most common first.
    "upbeat": """vibrant|thriving|dynamic|robust|resilient|innovative|inclusive|transformative|meaningful|
        impactful|sustainable|forward-thinking|community-driven|collaborative|empowering|bold|vital|pivotal|
        essential|comprehensive|strategic|proactive|welcoming|heartfelt|remarkable|exciting|lasting|
        engaging|accessible|equitable|ambitious|far-reaching|groundbreaking|timely|thoughtful|holistic|
        visionary|seamless|streamlined|cohesive|purposeful|intentional|future-ready|people-centered|
        data-driven|wide-ranging|long-term|multifaceted|grassroots|tangible|renewed|inspiring|uplifting|
        dedicated|passionate|diverse|dependable|responsive|modern|flourishing|enriching|supportive|
        family-friendly|picturesque|quaint|bustling|storied|cherished|beloved|iconic|charming|idyllic|
        tight-knit|close-knit|unwavering|steadfast|spirited|wholehearted|invaluable|noteworthy|
        commendable|praiseworthy|forward-looking|trailblazing|game-changing|next-generation|
        cutting-edge|state-of-the-art|world-class|top-notch|first-rate|best-in-class|heartwarming|
        life-changing|unforgettable|electrifying|awe-inspiring|breathtaking|serene|tranquil|
        harmonious|balanced|mindful|compassionate|empathetic|transparent|accountable|fiscally responsible|
        people-first|student-centered|patient-centered|eco-friendly|climate-conscious|green|
        energy-efficient|shovel-ready|high-impact|evidence-based|research-backed|proven|scalable|
        adaptable|agile|nimble|flexible|integrated|coordinated|unified|collective|shared|mutual|
        reciprocal|synergistic|catalytic|generational|once-in-a-generation|historic|landmark|
        milestone|pioneering|bright|hopeful|optimistic|promising|encouraging|reassuring|welcome|
        burgeoning|meticulous|thriving|tireless|heartening|energizing|transformational|far-sighted|
        well-rounded|deeply rooted|time-honored|long-standing|treasured|celebrated|acclaimed|esteemed|
        dedicated|devoted|committed|unified|rallying|galvanizing|invigorating|refreshing|revitalizing|
        reinvigorated|newfound|fresh|exciting new|innovative new|unique|distinctive|signature|flagship|
        marquee|standout|show-stopping|jaw-dropping|eye-catching|head-turning|one-of-a-kind|unmatched|
        unparalleled|unprecedented|exceptional|extraordinary|outstanding|phenomenal|incredible|amazing|
        wonderful|fantastic|terrific|stellar|superb|splendid|delightful|memorable|magical|enchanting|
        captivating|compelling|powerful|moving|poignant|touching|emotional|joyful|festive|lively|
        energetic|buzzing|electric|dynamic|fluid|evolving|emerging|expanding|growing|rising|surging""",
    "abstract": """resilience|collaboration|connection|engagement|innovation|growth|wellness|well-being|
        empowerment|sustainability|transparency|accountability|inclusivity|belonging|momentum|vitality|
        vibrancy|synergy|stewardship|partnership|opportunity|progress|legacy|heritage|pride|unity|spirit|
        excellence|equity|accessibility|connectivity|revitalization|modernization|preparedness|outreach|
        dialogue|roadmap|framework|vision|landscape|ecosystem|journey|milestone|catalyst|cornerstone|hub|
        tapestry|testament|beacon|livability|walkability|affordability|trust|cooperation|kindness|
        generosity|optimism|readiness|adaptability|creativity|leadership|mentorship|inclusion|harmony|
        camaraderie|neighborliness|civic pride|shared purpose|collective action|community spirit|
        quality of life|sense of place|sense of belonging|peace of mind|economic vitality|
        fiscal stewardship|environmental stewardship|public trust|civic engagement|lifelong learning|
        social connection|mental wellness|holistic care|whole-child education|student success|
        workforce readiness|upskilling|placemaking|storytelling|intergenerational connection|
        local pride|hometown spirit|grassroots energy|shared values|common ground|open dialogue|
        two-way communication|continuous improvement|best practices|lessons learned|key stakeholders|
        community partners|thought leadership|forward momentum|positive change|lasting impact|
        meaningful change|real-world impact|measurable outcomes|tangible results|the bigger picture|
        the road ahead|the path forward|a brighter tomorrow|the next chapter|the heart of the community|
        the fabric of the community|the backbone of the town|a shared future|a culture of care|
        a spirit of cooperation|a sense of urgency|a commitment to excellence|
        ingenuity|grit|perseverance|determination|tenacity|dedication|devotion|compassion|empathy|
        solidarity|fellowship|goodwill|togetherness|kinship|community building|relationship building|
        capacity building|trust building|bridge building|consensus|buy-in|alignment|clarity|cohesion|
        continuity|stability|security|safety|vibrance|energy|enthusiasm|excitement|anticipation|celebration|
        gratitude|appreciation|recognition|acknowledgment|honor|dignity|respect|fairness|justice|opportunity gaps|
        pathways|on-ramps|touchpoints|synergies|efficiencies|innovations|investments|partnerships|collaborations|
        initiatives|programs|resources|solutions|outcomes|impacts|milestones|achievements|successes|wins|
        possibilities|potential|promise|aspirations|dreams|goals|priorities|values|principles|ideals""",
}

# Fields of invented experts, for <field>.
POOLS[
    "field"
] = """public policy|urban planning|public health|environmental science|education|economics|sociology|
    rural studies|community development|civil engineering|criminal justice|political science|nutrition|
    agricultural science|geography|history|social work|nursing|psychology|hydrology|forestry|climate science|
    transportation planning|architecture|data science|communications|journalism|recreation management"""

# A chat model's adverbs, for <adverb>.
POOLS[
    "adverb"
] = """truly|deeply|seamlessly|thoughtfully|meaningfully|proudly|warmly|eagerly|tirelessly|
    collaboratively|proactively|strategically|intentionally|passionately|wholeheartedly|enthusiastically|
    remarkably|incredibly|profoundly|genuinely|sincerely|steadily|swiftly|carefully|creatively|boldly|
    collectively|consistently|continually|ultimately|increasingly|notably|significantly|undeniably|
    unmistakably|beautifully|effortlessly|joyfully|gracefully|purposefully|responsibly|sustainably|
    inclusively|equitably|transparently|openly|actively|readily|fully|richly|vibrantly|powerfully"""


# Crops and what farms sell, for <crop>.
POOLS_MORE = {
    "crop": """sweet corn|apples|blueberries|strawberries|pumpkins|potatoes|hay|maple syrup|tomatoes|squash|
        garlic|onions|lettuce|kale|peaches|pears|plums|raspberries|blackberries|cranberries|rhubarb|asparagus|
        beans|peas|carrots|beets|cabbage|cauliflower|broccoli|peppers|eggplant|melons|watermelons|cucumbers|
        sunflowers|Christmas trees|wreaths|cut flowers|eggs|honey|goat cheese|raw milk|beef|pork|lamb|chicken|
        wool|firewood|soybeans|oats|barley|rye|hops|grapes|cider|apple butter""",
}

# Hyphenated compounds news writes every day: state-funded, volunteer-built, voter-approved.
COMPOUND_HEADS = """town state county volunteer family grant voter taxpayer school church farmer veteran student
    parent union police federally privately locally publicly bank developer resident board council donor
    community staff student-athlete neighbor lottery bond insurance court""".split()
COMPOUND_TAILS = """owned funded run built approved backed led supported appointed mandated sponsored financed
    operated organized driven managed maintained designed requested paid""".split()

# Each topic's own terms, for <term>, <term2>, <term3>: what that beat of a local paper writes about.
TOPIC_TERMS = {
    "council": """the operating budget|the capital plan|free cash|the stabilization fund|a tax abatement|the tax rate|
        the overlay account|sewer betterments|water rates|a bond anticipation note|the warrant|a citizen petition|
        the town charter|the personnel bylaw|a noise ordinance|the leash law|a fireworks ban|the trash contract|
        curbside recycling|pay-as-you-throw bags|the cemetery fund|perpetual care|the town report|an audit|
        the finance committee|the capital committee|the broadband committee|a cable franchise|a solar lease|
        streetlights|snow removal|the fire truck fund|a new ambulance|a dump truck|a grader|a loader|a sidewalk plow|
        the town clock|the war memorial|the bandstand|the common|the library trustees|the assessors|the tree warden|
        the animal control officer|the harbormaster|the constable|the moderator|the town clerk's hours|
        dog licenses|a records request|executive session|open meeting law|a zoning amendment|a moratorium|
        a host community agreement|payment in lieu of taxes|a tax increment deal|a land swap|a right of way|
        a culvert|a drainage easement|a retaining wall|a guardrail|a speed table|a four-way stop""",
    "crime": """a pry bar|bolt cutters|a crowbar|a ski mask|burner phones|a police scanner|a stolen plate|
        fentanyl|methamphetamine|cocaine|oxycodone|a digital scale|baggies|cash in small bills|a pellet gun|
        a hunting knife|a machete|brass knuckles|a BB gun|a loaded handgun|a sawed-off shotgun|ammunition|
        a getaway car|a rental car|a moped|a dirt bike|surveillance video|fingerprints|a shoe print|DNA swabs|
        a search warrant|a restraining order|a warrant for failing to appear|probation|parole|house arrest|
        an ankle monitor|a plea deal|a grand jury|an arraignment|a bail hearing|a suppression hearing|
        a public defender|a prosecutor|the district attorney's office|the state police|a K-9 unit|a drone|
        a cruiser|a roadblock|a traffic stop|a welfare check|a noise complaint|a domestic disturbance|
        a road rage incident|a hit-and-run|a scam call|a gift card scam|a check-kiting scheme|identity theft|
        credit card skimmers|a stolen catalytic converter|graffiti|slashed tires|a smashed window|a broken lock""",
    "fire": """Engine 1|Engine 2|Ladder 1|Tanker 3|Rescue 1|a brush truck|an ambulance|mutual aid|a second alarm|
        a third alarm|a box alarm|the incident commander|a thermal imaging camera|a hydrant|a dry hydrant|
        a fire pond|a drafting site|a tanker shuttle|hose lines|a supply line|an aerial ladder|a roof vent|
        overhaul|hot spots|smoke inhalation|minor burns|a cardiac arrest|a carbon monoxide leak|a propane leak|
        an oil burner|a chimney flue|creosote|a lint trap|an electrical short|knob-and-tube wiring|
        a lithium battery|fireworks|a brush pile|a burn permit|a red flag warning|a wildland fire|a structure fire|
        a car fire|a dumpster fire|a mulch fire|the fire marshal|the Red Cross|the fire academy|
        on-call firefighters|per-diem staff|the fire association|the ladies auxiliary|a boot drive|
        a chicken barbecue|the open house|smoke detectors|carbon monoxide detectors|a fire extinguisher|
        an escape ladder|a sprinkler system|a knox box|the dispatch center|a 911 call|a radio tower""",
    "schools": """algebra|geometry|chemistry|biology|physics|robotics|coding|welding class|auto shop|
        culinary arts|early childhood|Spanish|French|Latin|American Sign Language|civics|economics|
        AP English|AP calculus|dual enrollment|the honor roll|the spelling bee|the science fair|the math team|
        the debate team|the school play|the spring musical|the jazz band|the marching band|the chorus|
        the yearbook|the student council|the National Honor Society|the prom|graduation|the class trip|
        recess|lunch duty|bus duty|the pickup line|snow days|remote learning|the school calendar|
        standardized tests|report cards|parent conferences|an individualized education plan|special education|
        English learners|the reading specialist|a math coach|the school nurse|the guidance office|
        the resource officer|a social worker|a school psychologist|paraprofessionals|substitutes|
        teacher aides|the custodial staff|the food service staff|free and reduced lunch|breakfast after the bell|
        the backpack program|chromebooks|smartboards|the library media center|the gymnasium|the auditorium|
        the portable classrooms|the boiler|the sprinkler system|the roof membrane|asbestos tiles|the septic field""",
    "weather": """gusts|sleet|freezing rain|graupel|black ice|snow squalls|whiteout conditions|drifting snow|
        a wind chill|frostbite|a heat index|humidity|dew points|a drought|a burn ban|low water|ice jams|
        a flood watch|a flood warning|a flash flood warning|a winter storm watch|a wind advisory|a frost advisory|
        a tornado warning|a microburst|hail|lightning|thunder|downed limbs|uprooted trees|snapped poles|
        live wires|transformers|outages|restoration crews|bucket trucks|line crews|tree crews|plow routes|
        sand piles|salt domes|brine|snowbanks|roof collapses|ice dams|frozen pipes|burst pipes|sump pumps|
        wet basements|washouts|culvert failures|road closures|detours|warming centers|cooling centers|
        shelters|generators|space heaters|carbon monoxide|propane deliveries|oil deliveries|firewood""",
    "sport": """a layup|a jump shot|a three-pointer|a free throw|an and-one|a fast break|a full-court press|
        a zone defense|a box-and-one|a buzzer-beater|overtime|double overtime|a penalty kick|a corner kick|
        a header|a hat trick|a shutout|a clean sheet|a power play|a short-handed goal|an empty-net goal|
        a slap shot|a breakaway|a two-run homer|a grand slam|a bunt|a squeeze play|a double play|
        a no-hitter|a perfect game|extra innings|a walk-off single|a strikeout|a stolen base|
        a touchdown pass|a pick-six|a field goal|a safety|a two-point conversion|an onside kick|
        a fumble|a sack|rushing yards|passing yards|a kill|a dig|an ace|a block|a set point|a pin|
        a takedown|a reversal|a near fall|a technical fall|a personal best|a relay leg|the anchor leg|
        the hurdles|the high jump|the pole vault|the shot put|the discus|the two-mile|the mile|
        the league playoffs|the state tournament|the quarterfinal|the semifinal|the championship|
        the regular season|senior night|the booster club|the athletic director|the scorer's table""",
    "business": """a ribbon cutting|a grand opening|a soft opening|a going-out-of-business sale|a liquor license|
        a food truck permit|a sign permit|a building permit|a certificate of occupancy|a health inspection|
        a lease|a mortgage|a small business loan|a line of credit|a storefront grant|a façade grant|
        payroll|part-time help|summer help|seasonal workers|minimum wage|tips|sales tax|a point-of-sale system|
        online orders|curbside pickup|delivery apps|gift cards|a loyalty card|a punch card|a farmers market|
        wholesale accounts|a commercial kitchen|a walk-in cooler|a pizza oven|an espresso machine|
        a fryer|a dough mixer|a display case|shelving|inventory|suppliers|distributors|a franchise|
        a chain store|a big-box store|the bypass|foot traffic|parking meters|the downtown association|
        the chamber of commerce|the business improvement district|the economic development committee""",
    "health": """blood pressure checks|flu shots|COVID boosters|shingles vaccines|measles shots|a tetanus booster|
        Lyme disease|babesiosis|anaplasmosis|West Nile virus|EEE|rabies|a rabid fox|norovirus|strep throat|
        RSV|pneumonia|diabetes|asthma|opioid use disorder|naloxone|Narcan|a syringe exchange|a detox bed|
        a recovery coach|a peer support group|telehealth|a nurse practitioner|a physician assistant|
        a family doctor|a pediatrician|an obstetrician|a midwife|a dentist|a dental hygienist|a pharmacist|
        the emergency room|urgent care|the birthing center|the cancer center|the dialysis unit|
        the psychiatric unit|a mobile crisis team|a suicide hotline|Medicaid|Medicare|a sliding fee scale|
        copays|prior authorization|the waiting list|the wait time|the ambulance contract|paramedics|EMTs""",
    "community": """a pie sale|a bake sale|a chili cook-off|a pancake breakfast|a bean supper|a spaghetti dinner|
        a silent auction|a raffle|a 50-50 drawing|a 5K road race|a fun run|a duck race|a cornhole tournament|
        a bingo night|a trivia night|a contra dance|a square dance|a polka band|a bluegrass band|a brass band|
        a fiddle contest|a talent show|a craft table|face painting|a bounce house|a petting zoo|hay rides|
        a corn maze|pumpkin carving|a scarecrow contest|a tractor parade|a truck pull|an ox pull|a pet show|
        a quilt show|an antique car show|a book sale|a story hour|a puppet show|a magic show|fireworks|
        a tree lighting|caroling|a gingerbread contest|a Santa visit|a coat drive|a toy drive|a blood drive|
        a coat rack|a food pantry|a clothing swap|a free fridge|a community supper|Meals on Wheels""",
    "planning": """a setback|a variance|a special permit|a site plan|a subdivision plan|a lot line adjustment|
        frontage|lot coverage|building height|a buffer strip|a vegetated buffer|a stormwater plan|a detention pond|
        a septic design|a well radius|a traffic study|a sight line|a curb cut|a driveway permit|an impact fee|
        an abutter notice|a public hearing|a site walk|a peer review|a conservation easement|an overlay district|
        the village district|the rural zone|the commercial zone|the industrial park|mixed use|cluster housing|
        an accessory dwelling unit|a tiny house|a duplex|a triplex|workforce housing|affordable units|
        deed restrictions|short-term rentals|a lodging permit|a noise study|a lighting plan|dark-sky fixtures|
        a landscaping plan|a blasting plan|a haul route|an earth removal permit|a wetlands permit|
        the state fire code|the building inspector|the zoning administrator|the land court""",
    "environment": """milfoil|water chestnut|purple loosestrife|Japanese knotweed|emerald ash borer|
        hemlock woolly adelgid|spongy moths|cyanobacteria|phosphorus|nitrogen runoff|road salt|PFAS|
        arsenic|radon|lead service lines|a brownfield|a superfund site|a capped landfill|leachate|
        a monitoring well|a rain garden|a living shoreline|riprap|a fish ladder|a dam removal|a culvert upgrade|
        vernal pools|wetland buffers|a wildlife corridor|a conservation easement|a land trust|a town forest|
        a timber harvest|a forestry plan|a prescribed burn|a trail crew|bog bridges|a kiosk|a trailhead|
        a lookout|a lean-to|a canoe launch|a bird count|a frog survey|a bat count|a loon count|
        a plastic bag ban|composting|curbside compost|a swap shop|a repair cafe|solar panels|heat pumps|
        an electric bus|a charging station|weatherization|an energy audit""",
    "courts": """an arraignment|a plea deal|a guilty plea|a no-contest plea|a suspended sentence|probation|
        restitution|community service|a victim impact statement|a sentencing memo|a motion to suppress|
        a motion to dismiss|a mistrial|a hung jury|jury selection|opening statements|closing arguments|
        cross-examination|an expert witness|the crash reconstruction|a toxicology report|a search warrant|
        bank records|a forensic audit|a civil suit|a settlement|a consent decree|a deposition|a summary judgment|
        an appeal|the state supreme court|the superior court|the district court|probate court|a guardianship|
        a restraining order|a no-trespass order|a bail revocation|house arrest|an ankle monitor|a halfway house""",
    "elections": """absentee ballots|mail-in ballots|early voting|same-day registration|the voter rolls|
        the checklist|a write-in|a recount|a runoff|a ballot question|a warrant article|a nomination paper|
        signatures|lawn signs|a candidates night|a forum|a debate|campaign finance reports|a political action committee|
        the polls|the ballot clerks|the moderator|the tabulator|the hand count|the provisional ballots|turnout|
        a landslide|a squeaker|a tie vote|a coin toss|an uncontested seat|a vacancy|a term limit""",
    "arts": """a mural|a sculpture|a gallery|an open studio|a juried show|a craft fair|a quilt exhibit|a film night|
        a poetry reading|an author talk|a book club|a story walk|a summer reading log|a puppet show|a drum circle|
        a string quartet|a brass quintet|a community chorus|a fiddle jam|a contra dance|a dinner theater|
        a one-act play|an improv night|a talent show|the costume shop|the set crew|the lighting board|the orchestra pit|
        the balcony|the marquee|the box office|the archives|oral histories|old photographs|glass negatives|
        a time capsule|a historical marker|a walking tour|a cemetery tour|a house tour""",
    "farm": """the milk check|a hundredweight|silage|haylage|round bales|square bales|a hay wagon|a manure pit|
        a milking parlor|a robotic milker|a free-stall barn|heifers|steers|calves|a bull|the herd|grass-fed beef|
        pasture|a sugarbush|sap lines|a vacuum pump|an evaporator|a reverse osmosis machine|grade A amber|
        a sugarhouse|an orchard|a cider press|a farm stand|a CSA share|a greenhouse|a hoop house|row cover|
        drip irrigation|a cover crop|compost|a soil test|a frost fan|smudge pots|bees for pollination|
        the county fair|a 4-H club|an FFA chapter|the grange|the extension office|a farm loan|a conservation easement""",
    "roads": """a bridge deck|bridge bearings|an abutment|a guardrail|a jersey barrier|a rumble strip|
        a crosswalk|a flashing beacon|a speed table|a speed hump|a radar sign|a roundabout|a traffic light|
        a turn lane|a bike lane|a sidewalk|a curb ramp|a bus shelter|a park-and-ride lot|the rail trail|
        crack sealing|shim paving|an overlay|reclaiming|full-depth reconstruction|chip seal|gravel roads|
        grading|ditching|culverts|catch basins|frost heaves|potholes|the spring posting|weight limits|
        detours|flaggers|police details|a lane closure|a road closure|night work|a state grant|
        a federal earmark|the state transportation plan|the ten-year plan|a road survey|a pavement study""",
}


def _weights(pool):
    """Cumulative weights 1 / (rank + 5): the first words common, the rest a long tail."""
    return list(itertools.accumulate(1.0 / (rank + 5) for rank in range(len(pool))))


def _split(text):
    return [w.strip() for w in " ".join(text.split()).split("|") if w.strip()]


WORDS = {name: _split(text) for name, text in {**POOLS, **POOLS_MORE}.items()}
WORDS.update({f"term_{topic}": _split(text) for topic, text in TOPIC_TERMS.items()})
_CUMULATIVE = {name: _weights(words) for name, words in WORDS.items()}


def zipf(rng, pool):
    """A word from POOLS[pool], common ones more often (Zipf-like)."""
    cumulative = _CUMULATIVE[pool]
    return WORDS[pool][bisect.bisect(cumulative, rng.random() * cumulative[-1])]


# What a story about one subject talks about, keyed by a word of the subject: for <subj>.
SUBJECT_WORDS = {
    "water main": "hydrant flushing|boil-water notice|service lines|valve boxes|pressure readings|a backhoe|trench boxes|brown water|a pipe burst|water meters",
    "fire station": "apparatus bays|bunk rooms|a decontamination room|diesel exhaust|a training tower|turnout gear|a generator|the old firehouse|response times|a bay door",
    "repaving": "milling|binder course|top coat|manhole covers|line striping|curbing|shim coat|cold patch|a paver|a roller",
    "library": "the children's room|study carrels|the reading room|an elevator|accessible restrooms|the stacks|a makerspace|meeting rooms|bookmobile|interlibrary loans",
    "parking": "parking spaces|meters|a pay station|permit parking|the ramp|stair towers|security cameras|snow storage|overnight parking|electric car chargers",
    "wastewater": "aeration tanks|sludge|a clarifier|effluent|the outfall pipe|discharge permits|pump stations|grease traps|odor complaints|a digester",
    "bridge": "the deck|beams|abutments|scour|load limits|a temporary bridge|rust|rebar|a weight posting|the guardrails",
    "sidewalk": "curb ramps|granite curbing|tree roots|snow clearing|crosswalks|school routes|walkers|strollers|wheelchairs|a bike path",
    "salt shed": "a salt dome|brine tanks|road salt|sand mix|a loader|runoff|a concrete pad|a roof truss|covered storage|a salt spreader",
    "garage": "service bays|a vehicle lift|a wash bay|fuel pumps|a parts room|a mezzanine|overhead doors|a break room|a plow rack|a waste oil furnace",
    "culvert": "the pipe|headwalls|riprap|fish passage|beaver debris|washouts|a box culvert|flood flows|the stream bed|erosion",
    "senior center": "the dining room|Meals on Wheels|exercise classes|a van|card games|foot clinics|a lift chair|the kitchen|tax help|a lending closet",
    "town hall": "the vault|old records|the clerk's counter|an elevator|a ramp|the auditorium|asbestos tiles|a slate roof|a clock tower|office space",
    "transfer station": "sticker fees|bulky waste|a compactor|the swap shop|scrap metal|tires|mattresses|demolition debris|hauling contracts|tipping fees",
    "boat launch": "the ramp|a courtesy dock|trailer parking|milfoil inspections|a portable toilet|a kiosk|launch fees|jet skis|fishing boats|paddlers",
    "ball field": "light poles|LED fixtures|night games|Little League|adult softball|neighbors' windows|a timer|glare|the concession stand|bleachers",
    "police station": "holding cells|a sally port|evidence lockers|an interview room|a dispatch console|a locker room|a sally port door|cameras|a lobby window|an armory",
    "sewer": "a force main|grinder pumps|betterment fees|septic systems|hookup costs|manholes|gravity lines|an easement|failed leach fields|the treatment plant",
    "break-in": "a back door|a basement window|jewelry|a safe|a crowbar|footprints in the snow|a neighbor's camera|an alarm|a dog|a getaway car",
    "catalytic converter": "a reciprocating saw|hybrid cars|exhaust pipes|scrap yards|precious metals|a jack|parking lots|motion lights|a dealership|etching",
    "car thefts": "key fobs|unlocked doors|keys left inside|a stolen SUV|a pursuit|license plate readers|a dealership lot|a carport|joyriders|a recovered car",
    "package thefts": "porch pirates|doorbell cameras|delivery drivers|lockboxes|gift cards|holiday orders|tracking numbers|a shared driveway|a mail room|a sting",
    "robbery": "a note|a demand|a cash drawer|a getaway car|a hooded sweatshirt|a surveillance still|a teller|a convenience store|a pellet gun|a lockdown",
    "vandalism": "spray paint|graffiti|broken windows|smashed mailboxes|slashed tires|a damaged headstone|a toppled sign|egged cars|a dugout|a restroom",
    "burglaries": "camps|summer homes|sheds|garages|power tools|a fence|a pawn shop|an online marketplace|serial numbers|a search warrant",
    "shoplifting": "a self-checkout|a cart full of groceries|razor blades|baby formula|an employee|a loss prevention officer|a trespass notice|a receipt|the parking lot|a getaway car",
    "copper": "copper pipe|a vacant building|a scrap yard|a pickup truck|wire strippers|a utility pole|a cell tower|a solar farm|a flooded basement|a caretaker",
    "house fire": "the attic|the kitchen|a second floor|the stairs|smoke damage|water damage|a family pet|the Red Cross|insurance|a fundraiser",
    "barn fire": "hay bales|livestock|a tractor|a hayloft|spontaneous combustion|a silo|neighbors|a tanker shuttle|a farm pond|the farm family",
    "chimney fire": "creosote|a flue liner|a wood stove|a chimney cap|a sweep|a cleanout|the smoke pipe|a thermal camera|an inspection|a cracked liner",
    "brush fire": "dry leaves|a burn permit|wind gusts|a brush truck|backpack pumps|a power line|the woods|acres burned|a fire break|a campfire",
    "kitchen fire": "a frying pan|grease|a stovetop|a microwave|an extinguisher|a range hood|smoke alarms|a lid|a toaster oven|the cabinets",
    "apartment fire": "tenants|a landlord|fire doors|a sprinkler system|a fire escape|the top floor|displaced families|a hotel|the Red Cross|code violations",
    "start times": "sleep research|bus schedules|after-school jobs|sports practices|child care|first bell|dismissal|teenagers|surveys|later starts",
    "elementary school": "classroom sizes|a cafeteria|a playground|a site study|enrollment projections|a building committee|state aid|a vote|a bond|modular classrooms",
    "budget cuts": "layoffs|class sizes|electives|sports fees|bus routes|a hiring freeze|health insurance|special education|an override|the tax rate",
    "cellphone": "phone pouches|lockers|lunch periods|parents' texts|social media|distractions|emergencies|a pilot program|a policy|discipline",
    "reading curriculum": "phonics|decodable books|reading coaches|assessments|teacher training|literacy scores|a pilot|textbooks|intervention|small groups",
    "kindergarten": "half-day|full-day|classroom aides|naps|state funding|tuition|enrollment|a lottery|teachers|space",
    "turf field": "artificial turf|crumb rubber|grass|drainage|lights|a track|bleachers|a fundraiser|heat|injuries",
    "snowstorm": "plow drivers|sand|salt|snowbanks|drifts|school closings|roof collapses|power outages|shoveling|snow totals",
    "ice storm": "ice-coated branches|snapped limbs|power lines|outages|generators|warming centers|bucket trucks|black ice|crashes|candles",
    "windstorm": "gusts|fallen trees|roof shingles|siding|power lines|outages|chainsaws|a tree service|a crushed car|debris",
    "flood": "high water|road washouts|sandbags|sump pumps|a swollen river|evacuations|a closed bridge|mud|wet basements|insurance claims",
    "heat wave": "cooling centers|fans|air conditioners|heat exhaustion|the town beach|hydrants|water use|livestock|pets|elderly neighbors",
    "basketball": "rebounds|free throws|three-pointers|turnovers|the zone|the press|the tip-off|the bench|fouls|the buzzer",
    "soccer": "corner kicks|the goalkeeper|penalty kicks|offsides|a header|the back line|a through ball|yellow cards|overtime|the crossbar",
    "football": "touchdowns|interceptions|the quarterback|rushing yards|a punt|the end zone|a fumble|the defense|first downs|a field goal",
    "softball": "the pitcher|strikeouts|a double|a home run|runners in scoring position|the bunt|an error|the outfield|the seventh inning|a walk-off",
    "baseball": "the pitcher|strikeouts|a double|a home run|a stolen base|an error|the bullpen|the ninth inning|a walk-off|the dugout",
    "hockey": "the power play|the goalie|shots on goal|the penalty box|a breakaway|the blue line|an empty net|overtime|a slap shot|the crease",
    "wrestling": "pins|takedowns|weight classes|the mat|a reversal|team points|a forfeit|a tournament|the 132-pound class|the heavyweight bout",
    "volleyball": "kills|digs|aces|the setter|a block|the serve|the net|sets|a match point|the libero",
    "field hockey": "penalty corners|the goalie|a stroke|the circle|a green card|overtime|the midfield|a defensive save|a flick|shots",
    "bakery": "sourdough|croissants|rye bread|proofing|ovens|flour|early mornings|a display case|wholesale orders|cinnamon rolls",
    "hardware store": "paint|plumbing parts|nails by the pound|key cutting|propane refills|bird seed|lawn mowers|screen repair|a loyalty card|the counter",
    "brewery": "IPAs|stouts|fermenters|hops|a taproom|growlers|a canning line|a food truck|trivia nights|a tasting room",
    "bookstore": "used books|new releases|author readings|a children's corner|book clubs|special orders|maps|greeting cards|a reading chair|the register",
    "diner": "counter stools|the griddle|breakfast specials|coffee refills|regulars|booths|pie|the early crowd|home fries|the lunch rush",
    "grocery": "produce|the deli|the meat counter|checkout lanes|delivery|food prices|a pharmacy counter|local milk|the bakery aisle|shopping carts",
    "coffee shop": "espresso|lattes|pastries|free wifi|remote workers|a roaster|cold brew|an open mic|oat milk|the morning line",
    "pizza": "a brick oven|delivery drivers|calzones|late-night orders|dough|cheese prices|slices|a to-go window|wings|subs",
    "pharmacy": "prescriptions|flu shots|a drive-through|pharmacists|insurance|a closing chain store|refills|over-the-counter medicine|seniors|a waiting line",
    "overdoses": "naloxone|fentanyl|recovery coaches|the emergency room|treatment beds|a harm reduction program|test strips|families|first responders|a vigil",
    "ambulance": "paramedics|response times|mutual aid|a second ambulance|call volume|billing|overtime|a regional service|a new rig|dispatch",
    "birthing unit": "labor and delivery|obstetricians|nurses|long drives|expectant mothers|prenatal visits|a helicopter|the next hospital|staffing|a vigil",
    "lead": "water samples|lead service lines|filters|bottled water|test results|old pipes|a replacement plan|children's blood tests|schools|faucets",
    "measles": "vaccination records|exposure sites|symptoms|quarantine|a clinic|the health department|unvaccinated children|school notices|fever|rash",
    "flu clinic": "flu shots|high-dose vaccines|walk-ins|insurance cards|a drive-through|nurses|seniors|children|sign-up sheets|sore arms",
    "festival": "vendors|a beer garden|live music|a parade|food trucks|a craft tent|a kids' zone|fireworks|parking|volunteers",
    "food drive": "canned goods|cereal|peanut butter|diapers|pet food|donation bins|the food pantry|volunteers|shelves|holiday baskets",
    "parade": "floats|marching bands|fire trucks|veterans|candy|Scouts|antique cars|the reviewing stand|bleachers|route maps",
    "cleanup": "trash bags|gloves|litter|tires|bottles|shopping carts|a dumpster|volunteers|a river bank|a trail",
    "garden": "raised beds|compost|seedlings|a tool shed|a water spigot|plots|tomatoes|a fence|deer|a waiting list",
    "market": "vendors|crafts|wreaths|maple candy|hot cider|cookies|ornaments|a tree lighting|a Santa visit|parking",
    "apartment": "units|parking spaces|traffic|a septic system|rents|stormwater|building height|trees|affordable units|setbacks",
    "solar farm": "panels|inverters|fencing|glare|a substation|farmland|a lease|tax payments|screening|decommissioning",
    "gravel pit": "trucks|blasting|dust|noise|a reclamation plan|groundwater|hours of operation|an extraction permit|truck routes|a buffer",
    "cell tower": "antennas|a monopole|a fake pine tree|coverage maps|radio frequency|property values|a setback|an access road|carriers|dead zones",
    "short-term rentals": "weekend guests|noise|parking|trash|septic limits|permits|platforms|housing shortages|lodging taxes|inspections",
    "subdivision": "house lots|a cul-de-sac|a new road|wells|septic systems|wetlands|open space|stone walls|lot lines|a homeowners association",
    "storage": "units|a gate|security cameras|lighting|traffic|a fence|drainage|landscaping|hours|boats and RVs",
    "algae": "cyanobacteria|beach closures|phosphorus|warm water|water tests|a scum|dogs|swimmers|septic runoff|lake associations",
    "trail": "boardwalks|bridges|blazes|a parking area|a kiosk|mountain bikes|hikers|trail cameras|erosion|a lookout",
    "milfoil": "divers|suction harvesting|herbicides|boat inspections|fragments|the cove|a grant|weed beds|swimmers|boaters",
    "dam": "the spillway|the gates|a fish ladder|inspections|a breach|the millpond|a removal study|sediment|downstream homes|the impoundment",
    "conservation": "acres|a land trust|an easement|hiking trails|wildlife habitat|a purchase price|grants|a farmland|a stewardship fund|a closing",
    "PFAS": "well tests|filters|bottled water|firefighting foam|a landfill|a cleanup|parts per trillion|the state lab|residents' blood|a lawsuit",
    "manslaughter": "the crash|the victim's family|sentencing|a blood test|a prison term|probation|restitution|the driver's license|the jury|an apology",
    "embezzlement": "bank statements|forged checks|a treasurer|restitution|an audit|a debit card|missing funds|a plea|a bookkeeper|a suspended sentence",
    "recount": "ballots|a hand count|a margin|observers|disputed ballots|the tabulator|the clerk|a certification|lawyers|a tie",
    "mural": "paint|sketches|a scissor lift|brick|a grant|local history|volunteers|sealant|an unveiling|a dedication",
    "theater": "auditions|rehearsals|costumes|sets|a stage manager|tickets|a dress rehearsal|the orchestra|the curtain|a full house",
    "harvest": "apple pickers|bins|a cider press|u-pick customers|frost|bruised fruit|prices|wagons|the orchard|cold storage",
    "dairy": "milk prices|cows|feed|a milking parlor|a co-op|the milk truck|heifers|hay|diesel|a farm auction",
    "maple": "sap|taps|tubing|an evaporator|a sugarhouse|warm days|cold nights|grades of syrup|open houses|pancakes",
    "farmers market": "vendors|produce|bread|eggs|cheese|tents|SNAP benefits|music|a token program|a parking lot",
}


def subject_words(subject):
    """The vocabulary of a subject: the SUBJECT_WORDS list whose key appears in it, or None."""
    lowered = subject.lower()
    for key, words in SUBJECT_WORDS.items():
        if key.lower() in lowered:
            return [w.strip() for w in words.split("|")]
    return None


def plural(phrase):
    """English plural of a noun phrase's last word: chainsaw -> chainsaws, bus driver -> bus drivers."""
    head, _, last = phrase.rpartition(" ")
    irregular = {
        "man": "men",
        "woman": "women",
        "person": "people",
        "child": "children",
        "shelf": "shelves",
        "knife": "knives",
        "leaf": "leaves",
        "calf": "calves",
        "loaf": "loaves",
        "wife": "wives",
    }
    if last.endswith(("s", "x", "ch", "sh", "z")) and not last.endswith("ss"):
        return phrase  # already plural, or a mass noun
    if last in irregular:
        last = irregular[last]
    elif last.endswith("ss"):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}".strip()
