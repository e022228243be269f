"""Sample news articles for txt_classifier.py: real local news vs LLM-written imitations.

Each pair shares one title. The "real" article is written in a small-town newsroom voice:
a dateline, named officials, exact numbers, times and addresses, quotes attributed inline,
short paragraphs. The "fake" one imitates what a chat model writes from the title alone:
generic or embellished detail, upbeat abstract wording, and sometimes the tells listed in
docs (placeholders like [Date], markdown bold and headers, bullet lists, emoji, wrap-up
lines, chatty closings).

Both voices draw from the same topic facts and each borrows the other's sentences now and
then (see MIX), so word choice across the whole article separates the classes while no
single token does. Everything here is invented: towns, outlets, people and numbers.

Templates use {a|b|c} for a random choice (nesting allowed) and <slot> for a value from the
article's context (see `_context`).
"""

import math
import re

# Chance that a sentence is taken from the other voice's pool: the knob for how hard the
# text task is. 0 makes every sentence a giveaway; 0.5 makes the classes identical.
MIX = 0.36

FIRST_NAMES = """Adele Alvin Amara Anton Arlo Bea Bernadette Carmen Cyrus Dalia Dario Delphine
Desmond Edwin Elena Esme Fatima Felix Gideon Greta Hal Imogen Ines Ivan Joanne Jonah Kasia
Keith Lorna Luis Mabel Marcus Marisol Nadia Nolan Odette Omar Orla Pablo Petra Quentin
Rafael Rosalind Ruth Samir Saoirse Silas Tamsin Teodor Ulla Vern Wendell Yara Yusuf Zora
Bronwyn Cormac Hollis Leland Priya Tobias""".split()
LAST_NAMES = """Abernathy Albright Baptiste Barlow Beaumont Birch Calloway Castellano Corrigan
Dunleavy Eberhardt Esposito Farrow Fenn Galloway Gutierrez Halvorsen Hargrove Ibarra Jessup
Kaczmarek Kettering Lachance Lindqvist Mabry Marchetti Mendoza Nakashima Nyberg Okafor
Ostrowski Pellegrino Pruitt Quinlan Radcliffe Rasmussen Sandoval Szabo Thibodeau Trujillo
Underwood Vasquez Voss Whitcomb Winslow Yancey Zeller Achterberg Brannigan Delacroix Ferreira
Hollister Moynihan Ramsay Stavros Tremblay Varga Wojcik""".split()
# Names chat models reach for when they invent an official.
STOCK_NAMES = """Sarah Johnson|Emily Carter|Michael Thompson|John Smith|Lisa Martinez|David Miller|
Jennifer Lee|Mark Davis|Karen Wilson|Tom Reynolds|Rachel Adams|James Walker|Laura Bennett|
Robert Hayes|Angela Brooks|Daniel Foster""".replace("\n", "").split("|")

TOWNS = """Harlow Falls|East Carrow|Pine Hollow|Westbury Junction|Cedar Ford|Ashby Mills|
Greyton|Larkspur|Oakmere|Fenwick|Brightwater|Stonebridge|Havelock|Marlow Creek|Northfield Glen|
Quarry Hill|Redvale|Silverton Bay|Tamsworth|Underhill|Wren Harbor|Yarrow|Kettle Point|
Dunmore Springs|Elk Ridge|Fairhaven Mills|Juniper Flats|Lowell Crossing|Copper Lake|Bramble Cove"""
TOWNS = TOWNS.replace("\n", "").split("|")
COUNTIES = "Carrow|Tamsin|Wexley|Beaumont|Halstead|Orrin|Pemberton|Calder".split("|")
OUTLET_KINDS = ["Herald", "Gazette", "Courier", "Ledger", "Sentinel", "Tribune", "Record",
                "Chronicle", "Register", "Beacon"]
STREETS = """Maple Elm Oak Main Church River Mill Union Park Bridge School Water Spring Cedar
Walnut High Pleasant Prospect Chestnut Depot Granite Orchard Summit Lincoln Academy""".split()
STREET_KINDS = ["Street", "Road", "Avenue", "Lane", "Drive"]
COMPANIES = ["Ridgeline Paving", "Northgate Builders", "Harbison & Sons", "Tri-County Utility",
             "Alder Construction", "Keel Engineering", "Bowline Excavating", "Granite State Pipe"]
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = ("January February March April May June July August September October November "
          "December").split()
EMOJI = ["🎉", "📅", "👏", "🚓", "📍", "🌧️", "🏀", "✨", "🙌", "💡", "🏫", "❤️"]

# ---------------------------------------------------------------------------- topic banks
# Per topic: titles, the project/subject phrase, and for each beat a "real" and a "fake" pool.

TOPICS = {
    "council": {
        "subject": ["water main replacement", "new fire station", "Main Street repaving",
                    "library expansion", "downtown parking garage", "wastewater plant upgrade",
                    "<street> bridge repairs", "sidewalk plan"],
        "titles": ["<Town> council approves <money> for <subject>",
                   "<Town> councilors delay vote on <subject>",
                   "Residents pack hearing on <subject> in <Town>",
                   "<Town> budget plan leans on <subject> borrowing",
                   "Council splits <vote> on <subject>",
                   "<Town> weighs <subject> as costs climb"],
        "lead_real": [
            "The <Town> Town Council voted <vote> on <day> to approve <money> for the <subject>, ending {more than|nearly} <small> months of debate.",
            "<Town> councilors on <day> night approved a <money> contract with <company> for the <subject>, with work expected to start in <month>.",
            "After nearly <small> hours of public comment, the <Town> council voted <vote> early <day> to move ahead with the <subject>.",
            "<Town> councilors put off a vote on the <subject> on <day>, asking staff for <small> more cost estimates before the <month> <dayn> meeting."],
        "lead_fake": [
            "In a {significant|major|landmark|pivotal} decision, the <Town> Town Council has approved funding for the <subject>, a move that {officials say|many believe|supporters say} will {shape|transform|strengthen} the community for years to come.",
            "<Town> is taking a {bold|major|meaningful|decisive} step toward {a brighter future|modernizing its infrastructure|long-term sustainability} after the council {approved|greenlit|signed off on} plans for the <subject>.",
            "Local leaders in <Town> have {unveiled|approved|announced} plans for the <subject>, {sparking|prompting|igniting} {lively|spirited|passionate} {discussion|debate|conversation} among residents."],
        "detail_real": [
            "The work will be paid for with <money> from the town's capital reserve, plus a <money> state grant, according to Finance Director <p2>.",
            "Councilors <p3_last> and <p4_last> voted against the measure, saying the town should have sought more bids.",
            "The lowest of <small> bids came from <company>, at <money>.",
            "Work on the <street> section is scheduled to begin <month> <dayn> and last about <small> weeks, <p2_last> said.",
            "Under the plan, the average homeowner would pay about $<med> more a year, based on a home assessed at $<house>,000.",
            "The vote came after <small> residents spoke during a hearing that ran past <time>.",
            "Town Manager <p2> said crews repaired <small> breaks on <street> last winter alone.",
            "The town last borrowed for a project this size in 19<yr>, when it built the <street> school."],
        "detail_fake": [
            "The {project|initiative|plan} is expected to {enhance|improve|boost} {quality of life|public safety|the local economy} while {addressing|tackling} {long-standing|longtime|ongoing} {concerns|challenges|needs} raised by residents.",
            "Funding for the project will come from a {combination|mix} of {local|municipal} {funds|resources} and {state|federal} {grants|support}, though {exact|specific} figures {have not yet been|were not immediately} {released|disclosed}.",
            "Supporters {argue|believe|say} the investment {reflects|demonstrates|underscores} the town's {commitment to|dedication to|focus on} {responsible growth|transparency|its residents}.",
            "{Not everyone|Some residents|Critics}, however, {are convinced|agree}. {A few|Several|Some} {voiced|raised|expressed} concerns about {costs|the timeline|potential disruptions} during the {meeting|hearing|public comment period}.",
            "Officials {emphasized|stressed|noted} that {the process|every step} would be {transparent|inclusive|community-driven}, with {opportunities|chances} for residents to {share feedback|weigh in|stay informed}."],
        "quote_real": ["We can't keep patching a pipe that went into the ground in 19<yr>",
                       "I'd rather pay for it now than pay for it at two in the morning in February",
                       "Nobody likes this number, but it's the number",
                       "We had <small> breaks on <street> last year, and every one of them was overtime",
                       "I've gotten <med> emails on this, and I read every one",
                       "Our water system is older than most of the people in this room"],
        "quote_fake": ["This is about investing in our future",
                       "We are committed to making <Town> a place where families can thrive",
                       "Our residents deserve {safe|modern|reliable} {infrastructure|services}, and this {project|plan} delivers exactly that",
                       "We've listened to the community, and we're proud to move forward together"],
        "next_real": ["The council meets next at 7 p.m. on <day> at Town Hall, <address>.",
                      "A final vote is scheduled for <month> <dayn>."],
        "role": ["Council President", "Mayor", "Town Manager", "Councilor"],
    },
    "crime": {
        "subject": ["break-in", "catalytic converter thefts", "car thefts", "package thefts",
                    "armed robbery", "vandalism", "burglaries", "shoplifting spree"],
        "titles": ["Police arrest <Town> man in <subject> on <street>",
                   "<Town> police investigate <subject> on <street>",
                   "Woman charged after <subject> on <street>",
                   "Two arrested in <Town> <subject>, police say",
                   "<Town> police seek help identifying suspect in <subject>"],
        "lead_real": [
            "A <age>-year-old <Town> man was arrested <day> and charged with burglary after a break-in at a home on <street>, police said.",
            "<Town> police are investigating <small> reports of {catalytic converter|tailgate|package} thefts in the area of <street> since <month> <dayn>, Chief <p1> said <day>.",
            "Police arrested <resident>, <age>, of <address>, at about <time> <day> after a <subject> call on <street>, according to a police report.",
            "A <Town> woman faces charges of receiving stolen property after officers found a stolen pickup truck in her driveway on <street> early <day>."],
        "lead_fake": [
            "A {recent|troubling|concerning} {incident|string of incidents} in <Town> has left residents {shaken|on edge|concerned} and {prompted|sparked} {renewed|fresh} {conversations|calls} about {public safety|neighborhood security}.",
            "Authorities in <Town> {have made|announced} an arrest in connection with a {recent|reported} <subject>, {bringing|offering} a sense of {relief|closure} to {the neighborhood|concerned residents}.",
            "<Town> police are {urging|asking} residents to {remain vigilant|stay alert|take precautions} following a {series|wave} of {incidents|reports} that have {rattled|unsettled} the {quiet|tight-knit|close-knit} community."],
        "detail_real": [
            "Officers found a pry bar and a pair of gloves in the suspect's car, according to the report.",
            "<resident_last> was held on $<med>,000 bail and is due in <County> District Court on <day>.",
            "The homeowner told police he heard glass break at about <time> and called 911.",
            "Sgt. <p2> said the thefts happened between <time> and <time2>, mostly in driveways without motion lights.",
            "Police recovered <small> of the stolen items, including a laptop and a {generator|chainsaw|bicycle}, Detective <p3_last> said.",
            "The case is the <small>th reported on <street> this year, up from <small2> in all of last year, according to department records.",
            "Anyone with information is asked to call the <Town> Police Department at 555-01<two>."],
        "detail_fake": [
            "Police {have not released|did not disclose} {many|further|specific} details, citing an {ongoing|active} investigation, but {stressed|emphasized} that there is {no ongoing threat|no immediate danger} to the public.",
            "Residents are {encouraged|urged} to {lock their vehicles|secure their homes|report suspicious activity} and to {consider installing|invest in} {security cameras|motion-sensor lighting}.",
            "The {incident|arrest} {serves as a reminder|highlights the importance} of {community vigilance|neighbors looking out for one another|strong partnerships between police and residents}.",
            "{Neighbors|Local residents|Community members} {described|called} the area as {typically quiet|a peaceful place|family-friendly} and said they were {surprised|shocked|saddened} by the {news|events}.",
            "Authorities {believe|suspect} the {incidents|thefts} may be {connected|linked}, and {the investigation|inquiries} {remains|remain} {ongoing|active}."],
        "quote_real": ["He left the truck running in the driveway for five minutes, and that's all it took",
                       "We've got video from <small> houses on <street>, and we're going through it",
                       "I came down at <time> and the back door was wide open",
                       "Most of these cars were unlocked, I'll be honest with you",
                       "Our officers knocked on every door on <street> that night"],
        "quote_fake": ["The safety of our residents is our top priority",
                       "We want to reassure the community that we are doing everything we can",
                       "This is a reminder that we all play a role in keeping our neighborhoods safe",
                       "We're grateful for the community's {cooperation|support|vigilance}"],
        "next_real": ["Anyone with information is asked to call police at 555-01<two>."],
        "role": ["Police Chief", "Sgt.", "Detective", "Lt."],
    },
    "schools": {
        "subject": ["later start times", "a new elementary school", "budget cuts",
                    "a cellphone ban", "bus route changes", "a new reading curriculum",
                    "roof repairs", "full-day kindergarten"],
        "titles": ["<Town> school board backs <subject>",
                   "<Town> parents push back on <subject>",
                   "School officials outline plan for <subject> in <Town>",
                   "<Town> schools face <money> gap, eye <subject>",
                   "<Town> board votes <vote> on <subject>"],
        "lead_real": [
            "The <Town> School Committee voted <vote> <day> night to adopt <subject> for the fall, after {two|three|four} months of surveys and <small> public forums.",
            "<Town> Superintendent <p1> told the school board <day> that the district faces a <money> shortfall next year and proposed cutting <small> positions.",
            "About <med> parents signed a petition opposing <subject> at <street> Elementary before the board's <day> meeting.",
            "Reading scores at <Town> Middle School rose <small> points on this year's state test, Principal <p2> told the board <day>."],
        "lead_fake": [
            "<Town> families are {buzzing|talking} after the school district {unveiled|announced|rolled out} {plans|a proposal} for <subject>, a change {officials say|educators believe} will {benefit|support|empower} students {across the district|for years to come}.",
            "In a {move|decision} that {reflects|underscores} a {growing|renewed} focus on {student well-being|academic success|equity}, <Town> schools are {moving forward|pressing ahead} with <subject>.",
            "The <Town> school district is {navigating|facing|grappling with} {tough|difficult|challenging} {decisions|choices} as it {considers|weighs|explores} <subject>."],
        "detail_real": [
            "The change would move the high school's first bell from 7:25 to 8:10 a.m. and cost about $<med>,000 a year in added bus routes, Business Manager <p3> said.",
            "Enrollment has fallen from <big> students in 20<yr2> to <big2> this fall, according to district figures.",
            "The district has <small> bus routes and <small2> drivers, so some drivers run double routes, Transportation Director <p3> said.",
            "The board will hold a hearing at <time> on <month> <dayn> in the <Town> High School library.",
            "Of the <med> families who answered the survey, <pct> said they supported the change.",
            "Teachers' union president <p4> said <small> teachers have left mid-year since September."],
        "detail_fake": [
            "{Educators|Teachers|Administrators} {say|believe} the {change|initiative} {aligns with|reflects} {research|best practices} showing {its benefits|the importance of} {student well-being|rest and focus|hands-on learning}.",
            "Parents {have expressed|voiced} {mixed|a range of} {reactions|opinions|feelings}, with some {praising|applauding|welcoming} the {plan|move} and others {raising|voicing} {concerns|questions} about {logistics|scheduling|transportation}.",
            "The district {plans to|will} {engage|work closely with} {families|parents|stakeholders} {throughout|during} the {process|transition} to {ensure|make sure} {a smooth rollout|every voice is heard}.",
            "{Ultimately|At its core}, the {decision|plan} is {about|centered on} {giving students|giving every student} {the tools they need|the best possible start} to {succeed|thrive}."],
        "quote_real": ["My daughter gets on the bus at 6:40 in the dark. That's the whole argument for me",
                       "We cut <small> positions last year. There's nothing easy left on the list",
                       "I taught here for <small> years and I've never seen a shortage like this",
                       "The numbers went up, but we still have <pct> of kids below grade level",
                       "Our buses run <small> minutes late on a good day"],
        "quote_fake": ["Our students are at the heart of everything we do",
                       "This is a {meaningful|important} step toward {equity|excellence} in education",
                       "We believe every child deserves {the opportunity|a chance} to {succeed|thrive}",
                       "We're excited about what this means for our {students|learners} and families"],
        "next_real": ["The board's next meeting is <day2> at 6:30 p.m. in the <street> School cafeteria."],
        "role": ["Superintendent", "Principal", "School Committee Chair", "board member"],
    },
    "weather": {
        "subject": ["nor'easter", "ice storm", "windstorm", "blizzard", "snowstorm",
                    "early-season snowstorm", "winter storm", "April snowstorm"],
        "titles": ["<subject> leaves thousands without power in <Town>",
                   "<Town> digs out after <subject>",
                   "<Town> braces for <subject> this weekend",
                   "<subject> closes roads, schools across <County> County",
                   "Crews work to restore power after <subject>"],
        "lead_real": [
            "About <big> <Town> customers were still without power <day> morning after a storm brought gusts of up to <wind> mph overnight, according to the utility's outage map.",
            "The <subject> dropped <inches> inches of snow on <Town> by <time> <day>, the most for a single storm since 20<yr2>, weather service records show.",
            "<Town> public works crews closed <street> and part of <street2> <day> after the river rose <small> feet above flood stage.",
            "A <subject> warning remained in effect for <County> County until <time> <day>, and the <Town> schools canceled classes for the <small>th time this winter."],
        "lead_fake": [
            "Residents of <Town> are {coming together|rallying} in the {wake|aftermath} of a {powerful|fierce|severe} <subject> that {swept through|battered|pummeled} the region, {leaving|causing} {widespread|significant} {disruption|damage}.",
            "As the <subject> {approaches|bears down}, <Town> officials are {urging|encouraging} residents to {prepare|stay safe|take necessary precautions}.",
            "<Town> is {recovering|bouncing back} after a {dramatic|challenging|historic} <subject> {tested|challenged} the {resilience|spirit|strength} of the community."],
        "detail_real": [
            "A tree fell onto a house at <address> at about <time>, but no one was hurt, Fire Chief <p2> said.",
            "The town opened a warming center at the <street> Community Center from <time> to <time2>; <small> people used it overnight.",
            "Public Works Director <p3> said <small> plows and <small2> contractors worked <small3>-hour shifts.",
            "The utility said crews from <small> other states were helping and expected most power back by <time> <day2>.",
            "The river crested at <small>.<one> feet at the <street> gauge at <time>, below the 19<yr> record.",
            "Police closed <street> between <street2> and <street3> for <small> hours while crews removed a fallen pole."],
        "detail_fake": [
            "{Emergency crews|First responders|Utility workers} {worked around the clock|worked tirelessly} to {clear roads|restore power|keep residents safe}, {earning|drawing} {praise|gratitude} from {residents|the community}.",
            "Officials {recommend|advise} that residents {stock up on|keep} {essentials|supplies} such as {water, batteries and nonperishable food|flashlights, blankets and medications}.",
            "{Neighbors|Residents} {checked on|looked out for} one another, {sharing|offering} {generators|warm meals|shelter} in a {heartwarming|powerful|touching} {display|show} of {community spirit|solidarity}.",
            "{The storm|The event} {served as a reminder of|highlighted} {the importance of|the need for} {preparedness|emergency planning|resilient infrastructure} in {small towns|communities like <Town>}."],
        "quote_real": ["We had a maple come down across <street> and take three poles with it",
                       "I've lived on this road <small> years and I've never seen the water this high",
                       "Our guys have been out since <time>, and they'll be out again tonight",
                       "Don't touch the wires. Call it in and stay back"],
        "quote_fake": ["Safety is our number one priority",
                       "We're incredibly proud of how our community has come together",
                       "We urge everyone to stay informed and stay safe",
                       "Together, we will get through this"],
        "role": ["Fire Chief", "Emergency Management Director", "Public Works Director", "Town Manager"],
    },
    "sport": {
        "subject": ["boys basketball", "girls basketball", "boys varsity basketball",
                    "girls varsity basketball"],
        "titles": ["<Town> <subject> tops <Town2> <score>",
                   "<Town> <subject> falls in semifinal",
                   "<Town> <subject> clinches league title",
                   "Late run lifts <Town> past <Town2>",
                   "<Town> <subject> coach steps down after <small> seasons"],
        "lead_real": [
            "<player> scored <med2> points, including <small> in the fourth quarter, as <Town> beat <Town2> <score> on <day> night.",
            "<Town> scored the last <small> points of the game to beat <Town2> <score> in the <subject> semifinal <day> at <street> Gym.",
            "<Town> clinched its first league title since 20<yr2> with a <score> win over <Town2> on <day>.",
            "After <small> seasons and <big> wins, <Town> <subject> coach <p1> told players <day> he will step down in June."],
        "lead_fake": [
            "In a {thrilling|electrifying|nail-biting} {showdown|matchup|contest}, <Town> {delivered|put on} a {performance|display} {to remember|fans won't soon forget}, {edging|topping|defeating} <Town2>.",
            "<Town> {fans|supporters} {had plenty to cheer about|were on their feet} as the team {showcased|displayed} {grit|determination|heart} {on the way to|en route to} a {memorable|hard-fought} victory.",
            "The <Town> <subject> team has {captured|claimed|secured} the league {title|crown}, {capping|completing} a season {defined by|marked by} {teamwork|resilience|perseverance}."],
        "detail_real": [
            "<player2> added <small> rebounds and <small2> assists for <Town> (<small3>-<small4>).",
            "<Town2> led <med2>-<med3> at halftime before <Town> opened the third quarter on a <small>-0 run.",
            "<player2> blocked <small> shots, including one with <small2> seconds left.",
            "The win sets up a final against <Town3> at <time> <day2> at <County> Regional High School.",
            "<Town> was <small>-for-<med2> from the free-throw line and committed <small2> turnovers.",
            "It was the <small>th straight win for <Town>, which lost its opener to <Town3>."],
        "detail_fake": [
            "{The team's|Their} {chemistry|unity|camaraderie} was {evident|on full display} {throughout the game|from the opening whistle}, with {every player|each athlete} {contributing|stepping up} {when it mattered most|at key moments}.",
            "{Coaches|The coaching staff} {credited|praised} the players' {hard work|dedication|work ethic} {in practice|over the offseason} for the {team's success|turnaround}.",
            "The {crowd|atmosphere} was {electric|buzzing}, as {students|families|fans} {packed|filled} the {stands|gym|bleachers} to {support|cheer on} the {home team|hometown squad}.",
            "{Beyond|More than} {the scoreboard|wins and losses}, the {season|victory} {has|represents} {meant|something} {a great deal|special} to a {community|town} that {rallies|comes together} behind its {athletes|young people}."],
        "quote_real": ["We talked at halftime about getting to the line, and they did it",
                       "She's been doing that since she was a freshman",
                       "I told them in November we'd be here, and a couple of them laughed at me",
                       "Twenty-<small> years is a long time. It's somebody else's turn",
                       "Our kids played <small> games in nine days and never complained"],
        "quote_fake": ["I couldn't be prouder of these {kids|athletes|young men and women}",
                       "This win is for our whole community",
                       "We believed in each other from day one",
                       "It's been an incredible journey, and I'm grateful for every moment"],
        "role": ["coach", "head coach", "athletic director", "captain"],
    },
    "business": {
        "subject": ["bakery", "hardware store", "brewery", "bookstore", "diner",
                    "grocery store", "coffee shop", "pizza shop"],
        "titles": ["New <subject> opens on <street> in <Town>",
                   "<Town> <subject> closes after <small> decades",
                   "Plans filed for <subject> at former <street> site",
                   "<Town> <subject> expands, adding <small> jobs",
                   "Downtown <Town> welcomes new <subject>"],
        "lead_real": [
            "<resident> opened <shop> at <address> on <day>, in the storefront that housed a shoe repair shop for <med2> years.",
            "<shop>, a <Town> fixture since 19<yr>, will close <month> <dayn>, owner <resident> said <day>.",
            "A developer has filed plans with the <Town> Planning Board to turn the former <street> mill into <small> apartments and ground-floor shops.",
            "<shop> will add <small> jobs when it moves into a larger space at <address> this spring, co-owner <resident> said."],
        "lead_fake": [
            "Downtown <Town> is {getting a fresh boost|welcoming a new addition} with the {opening|arrival|launch} of a {charming|cozy|vibrant} <subject> that {promises|aims} to {become a community hub|bring people together}.",
            "{After decades|For generations}, a {beloved|cherished|iconic} <Town> <subject> is {closing its doors|saying goodbye}, {leaving|marking} {the end of an era|a void in the community}.",
            "A {new|bold|ambitious} {proposal|vision|plan} for <subject> in <Town> is {generating|drawing} {excitement|buzz|interest} among {local leaders|residents|business owners}."],
        "detail_real": [
            "The shop is open <day> through <day2> from <time> to <time2> and has <small> employees.",
            "<resident_last> said rent on the building rose from $<big> to $<big2> a month when it sold last year.",
            "The Planning Board will take up the application at its <month> <dayn> meeting, Town Planner <p2> said.",
            "The project would cost about <money> and needs a variance because the lot is <small>,000 square feet short of the minimum.",
            "<resident_last>, <age>, worked at a bakery in <Town2> for <small> years before buying the ovens at an auction in <month>.",
            "Sales were down about <pct> after the <street> construction closed parking for most of last summer, she said."],
        "detail_fake": [
            "The {owners|founders} {hope|aim} to {create|build|foster} a {welcoming|inviting|warm} {space|atmosphere} where {neighbors|families|locals} can {connect|gather|unwind}.",
            "{Customers|Longtime patrons|Regulars} {took to social media|shared} {heartfelt|fond|touching} {memories|messages|tributes}, {describing|calling} the {shop|business} {the heart of downtown|a second home}.",
            "{Local officials|Business leaders} {welcomed|praised|celebrated} the {news|project} as {a sign of|evidence of} {economic momentum|renewed vitality|a thriving local economy}.",
            "The {business|venture} {plans to|will} {partner with|source from} {local farms|area artisans|nearby suppliers}, {reflecting|underscoring} a {commitment to|focus on} {sustainability|supporting local}."],
        "quote_real": ["The ovens came from a place in <Town2> that closed. I drove them back on a flatbed",
                       "My father opened this store in 19<yr>. I'm 67. It's time",
                       "We sell about <med> loaves on a Saturday and we're out by noon",
                       "The rent doubled. That's the whole story",
                       "Our customers kept us open through two recessions"],
        "quote_fake": ["We can't wait to welcome everyone through our doors",
                       "This has always been about community",
                       "We're so grateful for the love and support over the years",
                       "Our goal is to create a space where everyone feels at home"],
        "role": ["owner", "co-owner", "Town Planner", "Chamber of Commerce director"],
    },
    "health": {
        "subject": ["rising overdoses", "ambulance delays", "the birthing unit closure",
                    "lead in drinking water", "a measles case", "tick-borne illness",
                    "the flu clinic", "staff shortages at the hospital"],
        "titles": ["<County> County officials sound alarm over <subject>",
                   "<Town> health board discusses <subject>",
                   "Questions raised about <subject> in <Town>",
                   "<Town> residents weigh in on <subject>",
                   "What to know about <subject> in <Town>"],
        "lead_real": [
            "<County> County recorded <small> suspected overdoses in <month>, up from <small2> a year earlier, Public Health Director <p1> told the board <day>.",
            "<Town> Regional Hospital will stop delivering babies on <month> <dayn>, sending expectant mothers to a hospital <med2> miles away, a spokesperson said <day>.",
            "The <Town> Board of Health will hold a free flu clinic from <time> to <time2> <day> at the <street> Senior Center.",
            "Average ambulance response times in <Town> rose to <small> minutes <small2> seconds last year, according to a report presented to the council <day>."],
        "lead_fake": [
            "<Town> health officials are {raising awareness|sounding the alarm} about <subject>, {urging|encouraging} residents to {take proactive steps|stay informed|prioritize their health}.",
            "In an {effort|initiative} to {promote|support|prioritize} {community wellness|public health|healthier lives}, <Town> is {offering|launching|hosting} <subject> for residents.",
            "The {news|announcement} about <subject> has {sparked|raised} {concern|questions|conversation} among <Town> families about {access to care|the future of local health services}."],
        "detail_real": [
            "The hospital delivered <med> babies last year, down from <big> in 20<yr2>, according to state data.",
            "Nurses will give <med> doses on a first-come basis; residents should bring an insurance card but will not be turned away without one.",
            "Two of the <small> overdoses were fatal, <p1_last> said, and both involved fentanyl.",
            "The ambulance service has <small> full-time paramedics and has been short <small2> positions since <month>.",
            "The state health lab found lead levels of <small> parts per billion at <small2> of <med2> homes sampled on <street>.",
            "The board voted <vote> to spend $<med>,000 on <small> more naloxone boxes at town buildings."],
        "detail_fake": [
            "{Experts|Health professionals|Doctors} {recommend|emphasize} {regular checkups|early detection|staying up to date on vaccinations} as {key|essential} {steps|tools} in {protecting|safeguarding} {public health|your family}.",
            "{Access|Equitable access} to {quality care|health services} {remains|is} a {top priority|pressing concern} for {rural communities|small towns} {like <Town>|across the region}.",
            "Officials {are working|plan to work} {closely|collaboratively} with {local partners|community organizations|healthcare providers} to {address|meet} the {needs|concerns} of {residents|families}.",
            "{Resources|Support services|Materials} {are available|can be found} {online|at town hall|through the health department} for {anyone|those} {seeking|in need of} {help|assistance|guidance}."],
        "quote_real": ["We had a mother deliver in the back of an ambulance on Route <small> last month",
                       "Naloxone works. We've seen it work <small> times this year",
                       "If you're 65 or older, this is the week",
                       "We simply don't have the staff to run a unit that does <med> births a year",
                       "Our paramedics are covering three towns with <small> trucks"],
        "quote_fake": ["Your health and safety are our top priorities",
                       "We want every resident to feel {supported|empowered|informed}",
                       "Prevention is the best medicine",
                       "Together, we can build a healthier <Town>"],
        "role": ["Public Health Director", "hospital spokesperson", "Board of Health Chair", "EMS Director"],
    },
    "community": {
        "subject": ["harvest festival", "food drive", "library centennial", "parade",
                    "park cleanup", "veterans memorial", "community garden", "holiday market"],
        "titles": ["<Town> <subject> draws crowds downtown",
                   "Volunteers prepare for <Town> <subject>",
                   "<Town> <subject> returns this weekend",
                   "<subject> raises <money> for <Town> families",
                   "<Town> celebrates <subject>"],
        "lead_real": [
            "About <big> people turned out <day> for the <Town> <subject>, which closed <street> from <time> to <time2>.",
            "The <Town> Rotary's <subject> collected <big> pounds of food over <small> days, <small2> pounds more than last year, organizer <p1> said.",
            "The <Town> Public Library marks <med2> years on <month> <dayn> with an open house and a display of photographs from its 19<yr> expansion.",
            "Volunteers planted <small> raised beds at the <street> community garden <day>, and <med2> families are on the waiting list for a plot."],
        "lead_fake": [
            "<Town> came alive {this weekend|recently} as {residents|families|neighbors} {gathered|came together} for the {annual|beloved|much-anticipated} <subject>, a {celebration|event} of {community spirit|local traditions|togetherness}.",
            "{Volunteers|Organizers} in <Town> are {gearing up|preparing} for the <subject>, an event that {embodies|captures|celebrates} the {generosity|warmth|spirit} of this {close-knit|tight-knit|small but mighty} community.",
            "The <subject> {brought together|united} {people of all ages|residents from every corner of town}, {showcasing|highlighting} {what makes <Town> special|the heart of <Town>}."],
        "detail_real": [
            "The event raised $<big> for the food pantry at <address>, treasurer <p2> said.",
            "<small> vendors set up along <street>, and the fire department ran a chili cook-off that <resident> of <Town2> won.",
            "Parking is available at the <street> school lot; shuttles run every <small> minutes from <time>.",
            "The garden's <small> plots rent for $<med2> a season, and water comes from a spigot donated by <company>.",
            "The library was built in 19<yr> with $<big> raised by the <Town> Women's Club, according to a history compiled by <p2>.",
            "<resident>, <age>, has run the pancake breakfast for <small> years and said the group went through <med> eggs."],
        "detail_fake": [
            "{Attendees|Visitors|Families} {enjoyed|were treated to} {a wide range of|a variety of|an array of} {activities|attractions}, {including|from} {live music|local food vendors|crafts and games for kids}.",
            "The event {highlighted|showcased|celebrated} the {power|importance|value} of {volunteerism|coming together|giving back} in {a small town|communities like <Town>}.",
            "{Organizers|Volunteers} {spent months|worked tirelessly} {planning|preparing} to {ensure|make sure} {the event|everything} {ran smoothly|was a success}.",
            "{Local businesses|Sponsors} {stepped up|played a key role}, {donating|contributing} {time|resources|goods} to {support|make possible} the {cause|celebration}."],
        "quote_real": ["We ran out of pancakes at 9:15. That's never happened",
                       "My grandmother sold pies at the first one in 19<yr>",
                       "We had <small> kids show up with their own shovels",
                       "The pantry was down to two shelves in <month>. Now look at it",
                       "Our volunteers were setting up tables at 5 a.m."],
        "quote_fake": ["Events like this remind us what community is all about",
                       "It's heartwarming to see so many people come together",
                       "We couldn't have done it without our amazing volunteers",
                       "This is what makes <Town> such a special place to live"],
        "role": ["organizer", "library director", "Rotary president", "volunteer coordinator"],
    },
}

# Sentences either voice can use regardless of topic.
SHARED = {
    "background_real": [
        "<Town>, a town of about <med2>,000 in <County> County, last faced a similar question in 20<yr2>.",
        "The <outlet_short> first reported on the issue in <month>.",
        "A previous plan was shelved in 20<yr2> after bids came in <pct> over estimates.",
        "Records obtained by the <outlet_short> show <small> similar complaints since 20<yr2>.",
        "The <street> area has changed little since the mill closed in 19<yr>.",
    ],
    "background_fake": [
        "{Nestled|Located} in the heart of <County> County, <Town> is {known for|celebrated for} its {strong sense of community|small-town charm|rich history}.",
        "The {development|news} comes at a time when {many|small} communities {across the country|nationwide} are {facing|grappling with} {similar|comparable} {challenges|questions}.",
        "{For many residents|For longtime residents}, the {issue|topic} {strikes a chord|hits close to home}, {touching on|raising} {broader|deeper} questions about the town's {future|identity|priorities}.",
        "{Experts|Observers|Analysts} {note|say} that {towns like <Town>|small municipalities} {often|increasingly} {must balance|face the challenge of balancing} {growth|tradition} with {fiscal responsibility|preserving their character}.",
    ],
    "next_real": [
        "<reporter> contributed reporting.",
        "This story will be updated.",
        "Questions can be sent to the <outlet_short> newsroom at 555-01<two>.",
    ],
    "next_fake": [
        "{As|While} the {situation|story} {continues to unfold|develops}, {residents|many families} {will be watching closely|remain hopeful}.",
        "{More details|Further information|Updates} {are expected|will be shared} in the {coming weeks|days ahead}.",
        "{Residents are encouraged|Those interested are invited} {to attend upcoming meetings|to stay informed through the town's website|to share their thoughts with local officials}.",
        "{Looking ahead|Moving forward}, {officials|leaders} {say|hope} the {focus|priority} {will remain|remains} on {transparency|collaboration|the community's needs}.",
    ],
}

# The LLM tells, each used only in a share of the fakes (and some in real articles too).
WRAP_UPS = [
    "In summary, {the decision|this development|the event} {reflects|highlights|marks} {a turning point|an important moment|a new chapter} for <Town>.",
    "Bottom line: {residents|families} {should|can} {expect|look forward to} {changes|updates|more news} {soon|in the coming months}.",
    "Overall, {it's|this is} a {story|reminder} of {resilience|community|what small towns do best}.",
    "Ultimately, {the coming months|what happens next} will {determine|reveal|shape} {how <Town> moves forward|the town's path forward}.",
    "As <Town> looks to the future, one thing is clear: {the community|its residents} {will keep showing up|remain its greatest strength}.",
    "In the end, {this|the story} is about {people|neighbors} {looking out for one another|coming together}.",
]
CHATTY_CLOSINGS = [
    "Would you like me to add quotes from local officials or adjust the tone?",
    "Let me know if you'd like a shorter version for social media!",
    "I can also write a version with a different headline if that helps.",
    "Would you like me to expand any section or add a sidebar with key facts?",
    "If you'd like, I can tailor this article for a specific audience or word count.",
]
HEADERS = ["Background", "What Happens Next", "Community Reaction", "Key Details",
           "A Closer Look", "Looking Ahead", "What Residents Are Saying", "The Bigger Picture",
           "Why It Matters"]
FAKE_BULLETS = [
    "<bold>Date:<bold> <date_ph>", "<bold>Location:<bold> <Town> {Town Hall|Community Center|High School}",
    "<bold>Cost:<bold> {Free and open to the public|To be determined|Not yet released}",
    "<bold>Who:<bold> {Residents|Families|All community members}", "<bold>Contact:<bold> [Phone Number]",
    "{Increased|Improved|Enhanced} {safety|accessibility|transparency}",
    "{Support|Opportunities} for {local businesses|students|families}",
    "{Ongoing|Regular} {community input|updates from officials}",
    "A {renewed|stronger} {focus|emphasis} on {sustainability|wellness|collaboration}",
]
REAL_LISTS = {
    "Road closures <day>:": ["<street> between <street2> and <street3>, <time> to <time2>",
                             "<street> at the <street2> intersection, all day"],
    "Police log highlights:": ["<resident>, <age>, of <Town>, charged with driving with a suspended license, <day>",
                               "<address>: report of a {loose dog|suspicious vehicle|smoke odor} at <time>",
                               "<street>: {minor crash|car vs. deer|disabled vehicle}, no injuries, <time>"],
    "The proposed cuts include:": ["<small> paraprofessional positions, $<med>,000",
                                   "{late buses|middle school sports|summer school}, $<med>,000"],
    "Also on the agenda:": ["{Approved|Tabled} a request to repave the <street> lot, <vote>",
                            "{Appointed|Reappointed} <resident> to the {Planning Board|Conservation Commission}",
                            "Accepted a $<med>,000 grant for {sidewalks|police radios|a new plow}"],
}
EDITOR_NOTES = [
    "[Editor's note: This story was updated <day> to correct the spelling of <p2_last>'s name.]",
    "[This article has been updated with comment from <p1>.]",
    "[Correction: An earlier version of this story gave the wrong date for the <month> meeting.]",
]
PLACEHOLDERS = ["[Date]", "[Name]", "[Town Name]", "[Time]", "[Location]", "[Insert Quote]"]

REAL_ATTRIBUTIONS = ['"<q>," <who> said.', '"<q>," <who> told the <outlet_short>.',
                     '"<q>," said <who>, who has {lived|worked} in <Town> for <small> years.',
                     '<who_last> put it plainly: "<q>."', '"<q>," said <who>, a <street> resident.']
FAKE_ATTRIBUTIONS = ['"<q>," said <who>.', '"<q>," {shared|noted|explained|emphasized} <who>.',
                     '<who> described the {moment|development} as {meaningful|significant}, adding, "<q>."',
                     '"<q>," <who> said in a statement.']

# ---------------------------------------------------------------------------- engine

_ALT = re.compile(r"\{([^{}]*)\}")
_SLOT = re.compile(r"<([A-Za-z0-9_]+)>")


def expand(template, rng, slots):
    """Resolve {a|b} choices (innermost first) and then <slot> values."""
    while True:
        resolved = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), template)
        if resolved == template:
            break
        template = resolved
    def fill(match):
        value = slots[match.group(1)]
        return value(rng) if callable(value) else value
    # Slot values may contain slots themselves (a person's title, say).
    for _ in range(3):
        template = _SLOT.sub(fill, template)
    return template


def _person(rng, stock=False):
    if stock:
        return rng.choice(STOCK_NAMES)
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _money(rng):
    if rng.random() < 0.5:
        return f"${rng.randint(1, 9)}.{rng.randint(1, 9)} million"
    return f"${rng.randint(12, 950)},000"


def _time(rng):
    half = rng.choice(["a.m.", "p.m."])
    hour = rng.randint(6, 11) if half == "a.m." else rng.randint(1, 9)
    return f"{hour}{rng.choice(['', '', ':15', ':30', ':45'])} {half}"


def _street(rng):
    return f"{rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"


def _context(rng, topic, town, county, outlet):
    """Slot values for one article pair: the facts both articles are written around."""
    people = [_person(rng) for _ in range(5)]
    role = rng.choice(TOPICS[topic]["role"])
    ctx = {
        "Town": town, "County": county, "outlet_short": outlet.split()[-1],
        "subject": expand(rng.choice(TOPICS[topic]["subject"]), rng, {"street": _street(rng)}),
        "Town2": rng.choice([t for t in TOWNS if t != town]),
        "Town3": rng.choice([t for t in TOWNS if t != town]),
        "street": _street(rng), "street2": _street(rng), "street3": _street(rng),
        "company": rng.choice(COMPANIES), "role": role,
        "shop": f"{rng.choice(LAST_NAMES)}'s {rng.choice(['Bakery', 'Hardware', 'Books', 'Diner', 'Market', 'Brewing', 'Coffee'])}",
        "day": rng.choice(DAYS), "day2": rng.choice(DAYS), "month": rng.choice(MONTHS),
        "vote": f"{rng.randint(4, 7)}-{rng.randint(0, 3)}",
        "score": f"{rng.randint(40, 78)}-{rng.randint(30, 39)}" if topic == "sport" and rng.random() < 0.5
                 else f"{rng.randint(2, 5)}-{rng.randint(0, 1)}",
        "p1": people[0], "p2": people[1], "p3": people[2], "p4": people[3],
        "p1_last": people[0].split()[-1], "p2_last": people[1].split()[-1],
        "p3_last": people[2].split()[-1], "p4_last": people[3].split()[-1],
        "player": _person(rng), "player2": _person(rng), "reporter": people[4],
        "inches": str(rng.randint(8, 31)), "wind": str(rng.randint(45, 75)),
    }
    resident = _person(rng)
    ctx.update(resident=resident, resident_last=resident.split()[-1])
    numbers = {
        "small": (2, 9), "small2": (2, 9), "small3": (10, 16), "small4": (2, 8), "med": (120, 900),
        "med2": (11, 48), "med3": (11, 48), "big": (1100, 9800), "big2": (1100, 9800),
        "house": (180, 520), "yr": (48, 98), "yr2": (10, 22), "dayn": (1, 28), "age": (19, 78),
        "two": (10, 99), "one": (1, 9),
    }
    for name, (low, high) in numbers.items():
        ctx[name] = lambda r, low=low, high=high: f"{r.randint(low, high):,}"
    ctx["pct"] = lambda r: f"{r.randint(12, 71)} percent"
    ctx["money"] = _money
    ctx["time"] = _time
    ctx["time2"] = _time
    ctx["address"] = lambda r: f"{r.randint(3, 480)} {_street(r)}"
    return ctx


class _Writer:
    """Writes the sentences of one article in one voice, without repeating a template."""

    def __init__(self, rng, pools, ctx, voice):
        self.rng, self.pools, self.ctx, self.voice = rng, pools, ctx, voice
        self.other = "fake" if voice == "real" else "real"
        self.used = set()

    def _voice(self):
        return self.other if self.rng.random() < MIX else self.voice

    def _template(self, pool):
        fresh = [t for t in pool if t not in self.used] or pool
        template = self.rng.choice(fresh)
        self.used.add(template)
        return template

    def _exhausted(self, beat):
        return all(t in self.used for t in self.pools[f"{beat}_{self.voice}"])

    def sentence(self, beat):
        """A sentence for `beat`, usually in this voice, sometimes borrowed from the other."""
        if self._exhausted(beat) and beat != "detail":
            beat = "detail"  # a long article has used up its quotes: carry on with facts
        if beat == "quote":
            text = self.quote()
        else:
            text = expand(self._template(self.pools[f"{beat}_{self._voice()}"]), self.rng, self.ctx)
        return text[0].upper() + text[1:]

    def quote(self):
        rng, ctx = self.rng, self.ctx
        quote = expand(self._template(self.pools[f"quote_{self._voice()}"]), rng, ctx)
        if self.voice == "real":
            name = rng.choice([ctx["p1"], ctx["p2"], ctx["resident"]])
            who = f"{ctx['role']} {name}" if name == ctx["p1"] and rng.random() < 0.5 else name
        else:
            name = _person(rng, stock=rng.random() < 0.6)
            who = rng.choice([f"{ctx['role']} {name}", name, name, f"resident {name}"])
        form = rng.choice(REAL_ATTRIBUTIONS if self._voice() == "real" else FAKE_ATTRIBUTIONS)
        slots = dict(ctx, q=quote.rstrip("."), who=who, who_last=name.split()[-1])
        return expand(form, rng, slots)

    def paragraph(self, beat, sizes):
        return " ".join(self.sentence(beat) for _ in range(self.rng.choice(sizes)))


def _words(paragraphs):
    return sum(len(p.split()) for p in paragraphs)


def _real_article(rng, pools, ctx, title, target_words):
    writer = _Writer(rng, pools, ctx, "real")
    lead = writer.sentence("lead")
    if rng.random() < 0.55:
        lead = f"{ctx['Town'].upper()} — {lead}"
    paragraphs = [lead]
    beats = ["detail", "detail", "quote", "detail", "background", "quote", "detail"]
    while _words(paragraphs) < target_words:
        paragraphs.append(writer.paragraph(beats[(len(paragraphs) - 1) % len(beats)], [1, 1, 2]))
        # Long council or police stories: a list of items keeps going without repeating itself.
        if _words(paragraphs) < target_words and (rng.random() < 0.04 or (target_words > 900 and rng.random() < 0.15)):
            paragraphs.append(_real_list(rng, ctx))
    if rng.random() < 0.6:
        paragraphs.append(writer.sentence("next"))
    if rng.random() < 0.06:
        paragraphs.append(expand(rng.choice(EDITOR_NOTES), rng, ctx))
    return title + "\n" + "\n\n".join(paragraphs)


def _real_list(rng, ctx):
    intro = rng.choice(sorted(REAL_LISTS))
    items = [f"- {expand(rng.choice(REAL_LISTS[intro]), rng, ctx)}" for _ in range(rng.randint(3, 6))]
    return expand(intro, rng, ctx) + "\n" + "\n".join(items)


def _fake_article(rng, pools, ctx, title, target_words):
    bold = rng.random() < 0.12
    date = rng.choice(["[Date]", "[Insert Date]"]) if rng.random() < 0.5 else ctx["month"]
    ctx = dict(ctx, bold="**" if bold else "", date_ph=date)
    writer = _Writer(rng, pools, ctx, "fake")
    use_headers = rng.random() < 0.15
    use_emoji = rng.random() < 0.03
    first_line = title
    if (bold or use_headers) and rng.random() < 0.3:
        first_line = rng.choice([f"**{title}**", f"# {title}"])
    lead = writer.sentence("lead")
    if rng.random() < 0.05:
        lead = f"[City], [Date] — {lead}"
    elif rng.random() < 0.15:
        lead = f"{ctx['Town']} — {lead}"
    paragraphs = [lead]
    beats = ["detail", "quote", "background", "detail", "quote", "detail", "next"]
    while _words(paragraphs) < target_words:
        if use_headers and rng.random() < 0.35:
            header = rng.choice(HEADERS) + (f" {rng.choice(EMOJI)}" if use_emoji else "")
            paragraphs.append(f"### {header}" if rng.random() < 0.7 else f"**{header}**")
        paragraphs.append(writer.paragraph(beats[(len(paragraphs) - 1) % len(beats)], [1, 2, 2, 3]))
    if rng.random() < 0.22:
        bullets = rng.sample(FAKE_BULLETS, rng.randint(3, 5))
        intro = rng.choice(["Key points:", "Here's what residents need to know:", "At a glance:"])
        paragraphs.append(expand(f"<bold>{intro}<bold>\n" + "\n".join(f"- {b}" for b in bullets), rng, ctx))
    if rng.random() < 0.06:
        paragraphs[rng.randrange(len(paragraphs))] += f" {rng.choice(PLACEHOLDERS)}"
    if rng.random() < 0.45:
        paragraphs.append(expand(rng.choice(WRAP_UPS), rng, ctx))
    if use_emoji:
        paragraphs[-1] += f" {rng.choice(EMOJI)}"
    if rng.random() < 0.08:
        paragraphs.append(rng.choice(CHATTY_CLOSINGS))
    return first_line + "\n" + "\n\n".join(paragraphs)


def _target_words(rng, median):
    # Log-normal lengths: mean a little above the median, a long thin tail.
    words = int(median * math.exp(rng.gauss(0.0, 0.5)))
    if rng.random() < 0.012:
        words = rng.randint(1500, 2400)
    return max(90, min(words, 2400))


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def _prompt(rng, title):
    form = rng.choice([
        'Write a news article with the following title: "{t}"',
        "Write a local news story for a small-town newspaper titled {t}",
        'Generate a realistic news article based on this headline: "{t}". Include quotes.',
        "Write a {n}-word article for a community paper with the headline:\n{t}",
        "You are a local reporter. Write an article with the title “{t}”.",
    ])
    return form.format(t=title, n=rng.choice([300, 400, 500, 600]))


def make_pair(rng):
    """One (real, fake) pair of rows: dicts with article, source, label, label_idx."""
    topic = rng.choice(sorted(TOPICS))
    pools = dict(TOPICS[topic])
    for beat, sentences in SHARED.items():
        pools[beat] = sentences + TOPICS[topic].get(beat, [])
    town, county = rng.choice(TOWNS), rng.choice(COUNTIES)
    outlet = rng.choice([f"{town} {rng.choice(OUTLET_KINDS)}", f"{county} County {rng.choice(OUTLET_KINDS)}"])
    ctx = _context(rng, topic, town, county, outlet)
    title = expand(rng.choice(pools["titles"]), rng, ctx)
    title = title[0].upper() + title[1:]
    real_words = _target_words(rng, 280)
    fake_words = min(2400, int(_target_words(rng, 280) * rng.uniform(0.95, 1.4)))
    real = _real_article(rng, pools, ctx, title, real_words)
    fake = _fake_article(rng, pools, ctx, title, fake_words)
    domain = re.sub(r"[^a-z]", "", outlet.lower()) + ".example"
    url = f"https://www.{domain}/{topic}/20{rng.randint(21, 25)}/{rng.randint(1, 12):02d}/{_slug(title)}"
    return ([{"article": real, "source": url, "label": "real", "label_idx": 0},
             {"article": fake, "source": _prompt(rng, title), "label": "fake", "label_idx": 1}])
