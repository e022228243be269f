"""Invented names for the sample news articles: people, towns, streets, businesses, schools.

Real local news is a long tail of proper names: most people, streets and shops in an article
appear in no other article. These generators build such names from syllables and word parts
written for this file, so any number of them can be drawn, all plausible, none copied from a
list of real people or places. Everything takes a `random.Random` so that a seed gives the
same names every time.
"""

# First names are ordinary given names, written out here; the tail comes from surnames.
FIRST_NAMES = """Aaron Abigail Ada Adele Adrian Agnes Aidan Alana Albert Alec Alice Alma Alvin Amara
Amos Ana Andre Andrea Angela Anita Ansel Anton April Arlo Arthur Astrid Audrey Ava Barbara
Beatrice Ben Bernadette Bernard Beth Bettina Beverly Bianca Blake Bonnie Boris Bradley Brenda
Brian Bridget Bronwyn Bruce Bryce Caleb Calvin Camila Carl Carla Carmen Carol Caroline Casey
Cecil Cecilia Celeste Chad Charlene Charles Chester Chloe Clara Claude Clayton Clifford Colette
Colin Connie Conrad Cora Cormac Craig Cynthia Cyrus Dahlia Dale Dalia Damon Daniel Dario
Darlene Darnell Dean Deborah Delia Delphine Denise Derek Desmond Diane Dolores Dominic Donna
Dora Doris Douglas Duane Dwight Earl Edgar Edith Edmund Edwin Eileen Elaine Eleanor Elena
Eli Elias Elise Ellen Elliot Eloise Elsa Emil Emma Enid Enzo Eric Erin Ernest Esme Esther
Ethan Eugene Eva Evelyn Ezra Faith Farah Fatima Felix Fern Fiona Floyd Frances Francis
Frank Freda Gail Garrett Gary Gavin Gemma Gene Georgia Gerald Gideon Gilbert Gina Gloria
Gordon Grace Graham Greta Gus Gwen Hal Hannah Harold Harriet Hazel Heath Hector Heidi Helen
Henry Herbert Hilda Hollis Howard Hugh Ian Ida Imani Imogen Ines Ingrid Irene Iris Isaac
Ivan Ivy Jack Jackie Jacob Jada Jamal Janet Janice Jared Jasper Jean Jeanne Jeff Jenna
Jerome Jessie Joan Joanne Joel Jolene Jonah Joy Joyce Judith Julian June Justin Karen Karl
Kasia Kate Keith Kelvin Kendra Kenji Kent Kevin Kira Kurt Lamar Lana Lance Laura Laurel
Lawrence Leah Leland Lena Leo Leon Leonard Leslie Lila Lillian Linus Lionel Lisa Lloyd Lois
Lorna Lorraine Louis Louise Lucas Lucia Lucy Luis Luke Lydia Mabel Mae Malcolm Marcus Margo
Maria Marian Marisol Marjorie Mark Marlon Marsha Martin Marvin Mateo Maureen Maxine Maya
Megan Mel Melvin Meredith Miguel Miles Milo Minerva Miriam Molly Monica Morgan Muriel
Myron Nadia Nancy Naomi Nathan Neil Nell Nelson Nina Noah Noel Nolan Nora Norman Odette
Olive Oliver Omar Orla Oscar Otis Owen Pablo Pamela Patrice Paul Pearl Peggy Percy Petra
Phil Phoebe Pierre Priya Quentin Quincy Rafael Ralph Ramona Randall Raquel Ray Reba Reed
Regina Rena Rex Rhea Rhoda Rita Roland Ronald Rosa Rosalind Roscoe Ross Ruby Rudy Rufus Russ
Ruth Sabrina Sadie Sam Samir Sandra Saoirse Sasha Saul Selma Seth Shannon Sharon Sheila
Sherman Sidney Silas Simone Sonia Stanley Stella Stuart Sylvia Tamsin Tara Ted Teodor Terrence
Thea Theo Tobias Tomas Tracy Trevor Troy Ulla Ursula Valerie Vance Vera Vern Victor Viola
Vivian Wade Walter Wanda Warren Wendell Wendy Wesley Whitney Wilbur Willa Wyatt Xavier Yara
Yolanda Yusuf Yvette Yvonne Zachary Zelda Zora""".split()
# Less common given names, of several generations and origins: a real town's long tail.
FIRST_NAMES_RARE = """Abel Adaline Addison Adeline Ahmad Aiko Ainsley Alaric Alayna Alden Aleksander
Alessandra Alfonso Alistair Allegra Alonzo Alton Alvaro Amadou Amani Ambrose Amelie Anders Anneliese
Annika Anouk Anselm Antoinette Arjun Armand Arvid Asa Ashlyn Aubrey Augustin Aurelio Avery Axel Ayla
Barnaby Basil Bastian Baxter Beckett Benedict Berit Bertram Blaise Bodhi Bohdan Braxton Brennan
Briar Brigitta Brooks Caius Callum Camden Candace Carlene Carmine Cassius Catalina Cedric Cesar
Chandler Charmaine Cheyenne Chiara Cillian Clarissa Cleo Clement Corbin Corinne Cosima Crispin
Dagny Dakota Dallas Damaris Dashiell Davina Deacon Declan Delaney Delmar Demetrius Desiree Dexter
Dimitri Dominique Donovan Dorian Dorothea Dmitri Eamon Easton Eberhard Edda Efrain Eitan Elmer
Elodie Elspeth Emeric Emerson Emory Ephraim Erasmus Ernestine Esteban Estelle Eudora Eulalia
Evander Everett Ezekiel Fabian Faustina Fenella Ferris Finnian Fitzgerald Flannery Fletcher
Florian Forrest Francesca Freya Gareth Gaspard Genevieve Georgina Gervase Gianna Gilberto Giselle
Gunnar Gustavo Gwendolyn Hadley Halima Harlan Harper Hartley Haskell Hattie Henrietta Hiroshi
Honora Horace Hortense Hosea Huxley Ignatius Ilse Imelda Iona Isidore Ismael Isolde Jago Jalen
Jarvis Jeremiah Jethro Joaquin Jocelyn Johanna Jonas Josefina Jovan Jules Juniper Kai Kamala
Kasimir Katarina Keaton Kellan Keziah Kieran Kinsley Kit Klaus Lachlan Landon Larkin Lavinia Leander
Leif Lenora Leopold Leticia Lindsey Lionel Lorcan Lorelei Lucian Ludmila Luella Lyle Macy Magnus
Malachi Marcella Margarethe Marguerite Marius Marlowe Matilda Maximilian Mercer Micah Minnie
Mireille Montgomery Moritz Mordecai Nadine Nathaniel Nell Nico Niamh Nikolai Norbert Octavia Odell
Olaf Olympia Orson Osvaldo Otto Paloma Paolo Paxton Penelope Perpetua Peregrine Philippa Pietro
Piper Prudence Quinlan Radomir Raffaella Rainer Ramsey Raphael Remy Reuben Rhiannon Rigby Roisin
Romilly Rosalie Rowan Rupert Sabine Salvatore Santiago Saskia Sebastian Seraphina Severin
Shoshana Sigrid Sinead Solveig Soren Stellan Sterling Sunniva Sylvester Tabitha Tamsyn Tatiana
Thaddeus Theodora Thelma Tiberius Tilda Torsten Tristan Ulrich Valentina Vaughn Verity Vesna
Vincenzo Virgil Vitaly Waldo Wilhelmina Winifred Wolfgang Wren Xiomara Yael Yannick Yusra Zaid
Zephyr Zinnia Zofia Abbott Adah Adelaide Agatha Aldo Alfreda Algernon Alva Amalia Ambrosia Amias
Anastasia Angus Annabel Antonio Apollonia Arabella Archibald Ariel Aristide Arturo Augusta Aurora
Austin Barrett Beatrix Benita Bennett Bertha Blanche Boyd Bradford Brenton Brooke Bruno Buford Byron
Camille Carlton Carmela Casimir Cassandra Cecily Celia Chauncey Christabel Clancy Clarence Claudette
Cleveland Clifton Clovis Colby Columbine Consuelo Cordelia Cornelius Dalton Damien Dante Darius
Delbert Della Denholm Dewey Dimitra Dolly Dorcas Dudley Dwayne Earle Edmond Effie Eldon Eleanora
Elgin Ellery Elvira Emmett Enoch Erma Ernesto Ervin Esperanza Ethel Etta Eunice Everard Fay Felicity
Flora Florence Franklin Frederica Fulton Gaylord Georgette Gertrude Gideon Gilda Gladys Glenn Godfrey
Greer Griffin Grover Guinevere Hamish Harmony Harvey Hayden Helena Herman Hester Hilary Homer Hubert
Hudson Hyacinth Ignacio Ira Irving Isadora Jasmine Jeannette Jerrold Jewel Jonas Josiah Judd Justine
Kasey Kenneth Kermit Lavern Lawson Leona Leroy Letitia Linwood Lola Loretta Lowell Lucille Lyman
Mabelle Madeline Mamie Manuel Marcel Marietta Marvel Maude Maurice Merle Merrill Mervin Millard
Milton Mona Montague Myrtle Nanette Napoleon Nellie Nestor Nettie Newell Nola Norris Odessa Ogden
Olin Opal Orville Osborne Ottilie Pansy Parker Patience Pauline Perry Philomena Porter Prescott
Primrose Quincy Rachelle Randolph Raymond Reginald Rollo Rosetta Royce Rufina Sadie Selwyn Serena
Seymour Shelby Sherwood Sibyl Stanford Sullivan Talbot Tennyson Theresa Thurston Trudy Ulysses Una
Valentine Velma Verna Vernon Vida Vivienne Wallace Wendell Whitaker Wilfred Willard Winston Wyn
Aaliyah Abdul Abena Adaeze Adebayo Adetola Adil Afua Agnieszka Ahanu Aisha Ajay Akira Akosua Alejandro
Aleksei Alfie Alina Alisha Aliyah Amaya Amir Amira Anand Anders Andrei Aneesh Anil Anja Ansley Anya
Araceli Arash Arman Arnav Asha Ashanti Astra Ayana Ayesha Aziz Bao Beatriz Bela Benoit Bettina Bilal
Birgit Bjorn Bogdan Brandon Brayden Brianna Bronson Caden Caitlin Camden Carmelo Cassidy Catarina
Chaim Chanel Chen Chidi Chinedu Chioma Chloe Ciara Cillian Consuela Corey Cristina Cruz Dana Danika
Daria Darius Dawit Deepak Deja Delfina Demetria Deshawn Destiny Devin Dhruv Diego Dilan Dinah Dmitri
Dong Dylan Ebony Efua Eiko Ekaterina Elif Eliana Elin Elora Emeka Emilia Emre Enrique Esi Esperanza
Eun Fadi Farid Fernanda Fiona Florentina Folake Fumiko Gabriela Gaurav Gerardo Giovanni Goran Guadalupe
Gustav Hadiya Haruto Hassan Hatim Heike Hideo Hoang Hugo Hyun Idris Ikaika Ilana Ilya Imran Inez
Ingmar Irina Isabela Ishaan Itzel Jabari Jahlil Jakub Jamila Jana Javier Jaylen Jia Jiho Jorge Jose
Josephina Juan Julio Jun Kaito Kalani Kamal Kareem Karim Karina Kavya Kayla Keanu Keiko Kelechi Kemal
Kenya Kerstin Khalid Khadija Kiana Kimberly Kiran Kofi Kojo Krisztina Kwame Kwabena Laila Lakshmi Lars
Latoya Layla Lazaro Leilani Lei Liang Liesel Lila Lin Lior Lucas Lupe Luz Mahmoud Mai Makana Malak
Malika Mamadou Manon Mara Marek Mariam Marisa Marta Masato Mateus Mehmet Mei Meera Mikhail Milagros
Min Ming Mirela Miriam Mohamed Monserrat Mustafa Nadia Naledi Nasser Natalia Nayeli Nazanin Neha Ngozi
Nia Nikhil Nilufar Nkechi Noor Nuno Obinna Oksana Olamide Olena Oluwaseun Omari Oren Osagie Pablo Parisa
Pavel Pedro Pilar Pooja Precious Quan Rafaela Rahul Rajesh Ramon Rania Rashid Ravi Reza Rhys Rocio
Rohan Rosario Ruslan Ryo Sakura Salma Samira Sanjay Santino Satoshi Selin Seo-yeon Sergio Shanice
Shira Shreya Siddharth Simona Siobhan Siyabonga Sofia Soraya Stanislav Sunil Svetlana Tadeo Takeshi
Tamar Tanvir Tariq Tatsuya Teresa Thanh Thiago Tiago Timur Tomasz Tuan Uchenna Umar Valeria Vanessa
Vasil Veronika Vikram Vinh Wei Xin Yaw Yasmin Yesenia Yoshiko Yuki Yuri Zainab Zarina Zeynep Zhen
Ziyad Zoltan Zuri""".split()

# Names chat models reach for when they invent an official or a resident.
STOCK_NAMES = [
    "Sarah Johnson",
    "Emily Carter",
    "Michael Thompson",
    "John Smith",
    "Lisa Martinez",
    "David Miller",
    "Jennifer Lee",
    "Mark Davis",
    "Karen Wilson",
    "Tom Reynolds",
    "Rachel Adams",
    "James Walker",
    "Laura Bennett",
    "Robert Hayes",
    "Angela Brooks",
    "Daniel Foster",
    "Maria Lopez",
    "Chris Jordan",
    "Susan Clark",
    "Emily Rodriguez",
    "Jessica Turner",
    "Brian Mitchell",
    "Amanda Greene",
    "Kevin Brooks",
]

# Surnames: a stem and an ending in one of several styles.
_SURNAME_STYLES = [
    (
        "Ash Birch Black Brad Bram Brig Brook Bur Cald Carl Chat Clay Cole Craw Dal Dun Elm Ever "
        "Fair Fal Farn Fen Gar Glad Good Hal Ham Har Hart Hast Hay Hen Hol Hurl Kel Ken Kings Lang "
        "Lath Lind Lock Mar Mead Mil Mor Nash New Nor Oak Pem Pen Plum Rad Rain Ram Rath Red Ren "
        "Ros Rut Sal Sand Sel Shel Stam Stan Stock Sut Thorn Tal Trem Wal Wes Wex Whit Wick Wil Win "
        "Wood Yar Ab Ald Ark Bax Bel Cran Dar Dray Eld Gil Grim Hadd Hux Kirk Lud Mab Merr Pax Quil "
        "Rud Scar Tew Ulver Vick Wad Wray",
        "ford ley ton well wick by dale field more stead worth man er son ridge brook ham hurst "
        "wood croft land mont bury den combe shaw low cott ing ett ard ock row away ington ston "
        "ley sby ridge well",
    ),
    (
        "McAll McCorm McGann McKinn McDow McFarl McGrath McCull McBrann McTav MacEl MacKen MacLar "
        "MacGreg O'Hall O'Donn O'Kee O'Rour O'Shaugh O'Dwy O'Call O'Mall O'Brann O'Lough",
        "an ey ick agh en ough in ell ister er ane igan",
    ),
    (
        "Bel Cas Del Fer Gal Lom Mar Pel Ros Sal Ten Val Ver Zan Bar Cor Fab Mon Ser Tor Bon Cap "
        "Fal Gar Lan Mas Pac Ric San Vit Bert Dom Fior Alb Ben Carb Cerv Fus Gent Iac Luc Mor Nard Orl Pag "
        "Quar Rin Spad Tav Urb Vent Zuc",
        "ino elli etti ardi ucci iano ero ado ez anda ari ona izzi aro ani ese osa ente illo",
    ),
    (
        "Kow Nov Wis Dab Zel Kras Sob Pol Mal Lesz Ostr Jab Bor Stan Wojc Piat Szym Kul Grab Mich Paw "
        "Bab Cies Duda Gor Jan Kam Lis Mroz Nied Sad Tom Wal Zaw",
        "alski ak icki owski ek iak czyk enko ich ovic ska ny as inski",
    ),
    (
        "Lind Berg Dahl Hol Sten Ny Sand Strom Eck Hoff Kess Lang Rott Schil Weis Zimm Brandt Falk "
        "Gund Hag Jor Kjell Mag Nord Ost Rask Sjo Thor Vog Wahl Ahl Birk Eng Fors Grun Hed Isak Kron Lund "
        "Mos Rein Sol Tros Ulf Wern",
        "quist gren berg stad lund man ler er ing hardt ner mann el vik dal strom heim",
    ),
    (
        "Ade Oko Nwa Chi Obi Eze Ola Ike Amu Bab Ogu Uzo",
        "kwe yemi ola eze nde bayo for chukwu diran mide",
    ),
]
# Common surnames of many origins, written out; mixed in so that names look like a real town's.
_COMMON_SURNAMES = """Nguyen Patel Kim Tran Haddad Tanaka Okafor Mensah Ibarra Mendoza Park Cho Singh
Shah Ali Chen Wong Reyes Morales Vargas Santos Silva Costa Rossi Russo Novak Horvat Dubois
Moreau Laurent Fournier Girard Leclerc Brennan Doyle Quinn Walsh Byrne Keane Murray Fraser
Duncan Boyd Grant Reid Shaw Lowe Webb Fox Hale Hunt Ford Rowe Lane Page Price Cross Frost
Wolfe Stone Rhodes Hughes Barnes Bishop Carver Fletcher Porter Spencer Tucker Warner Mason
Dixon Gibson Hudson Jensen Larsen Nielsen Olsen Paulsen Ahmed Hassan Ramos Castillo Delgado
Ortega Herrera Medina Guerrero Soto Navarro Pena""".split()

_TOWN_STARTS = (
    "Ash Bel Brad Bridge Brook Burn Cam Cedar Clear Cold Copper Cran Elk Fair Fox Glen "
    "Gran Green Hazel Heron High Holly Iron Kettle King Lark Maple Mill Moss North Oak "
    "Orch Pine Quarry Raven Red River Rock Rose Salt Sandy Shel Silver Spring Stone Sugar "
    "Thorn Timber Twin Wal Whit Willow Wolf Wren Alder Bay Birch Bram Cliff Dun Ember "
    "Fern Frost Gold Hart Hay Hollow Ivy Juniper Lin Marl Mead Mor Nor Pem Quill Ridge "
    "Sel Star Tam Tor Vale Wex Yar"
).split()
_TOWN_STARTS += (
    "Abbot Acton Amber Arden Ayles Bark Beacon Bell Black Blythe Bow Bram Brent Briar Brim Broad "
    "Buck Calder Carl Chapel Cherry Clay Clover Cobble Cole Crane Crow Dart Deer Dover Drum East "
    "Eden Falcon Farn Ferry Flint Ford Garn Glass Gorse Grange Grey Ham Harrow Haw Heath Hill Hol "
    "Horn Hunt Kent Kers Kil Kirk Lang Lark Ley Long Lynd Marsh Mer Mid Mist Moor Nettle New Old "
    "Otter Owl Park Peb Pen Pit Plum Pond Prior Quin Ram Reed Rich Roth Rush Rye Sax Sedge Shaw Sheep "
    "Shore Skel Slate Sorrel Stan Stock Storm Straw Sum Swan Tall Tan Thistle Tide Town Trent Tulip "
    "Ux Vine War Water Wend Wheat White Wild Win Wind Wood Worm"
).split()
_TOWN_ENDS = (
    "ford field ton dale bury ville wood mont brook haven port ridge worth stead ham wick borough by "
    "mere crest well hurst leigh combe ston thorpe minster den low moor land marsh cliff gate bridge "
    "water side vale holm hythe wych ley cote"
).split()
_TOWN_MIDDLES = ["ing", "er", "en", "ing", "el", "ham", "ley"]
_TOWN_WORDS = "Falls Mills Junction Springs Crossing Harbor Center Hollow Corners Station Landing Heights Village".split()
_TOWN_PREFIXES = "North South East West Port Mount Lake New Upper Lower".split()

_STREET_ROOTS = (
    "Maple Elm Oak Main Church River Mill Union Park Bridge School Water Spring Cedar "
    "Walnut High Pleasant Prospect Chestnut Depot Granite Orchard Summit Lincoln Academy "
    "Ferry Quarry Meadow Hemlock Birch Sycamore Willow Poplar Spruce Tamarack Juniper "
    "Laurel Beech Hickory Aspen Linden Alder Cherry Apple Pine Locust Dogwood Magnolia "
    "Franklin Washington Jefferson Adams Monroe Grant Harrison Clinton Madison Jackson "
    "Center Front Market Pearl Canal Dock Railroad Factory Forge Tannery Brickyard Pond "
    "Lake Brook Hill Ridge Valley Forest Grove Garden Sunset Highland Liberty Pleasant "
    "First Second Third Fourth Fifth Sixth Seventh Eighth"
).split()
_STREET_KINDS = [
    "Street",
    "Road",
    "Avenue",
    "Lane",
    "Drive",
    "Way",
    "Court",
    "Place",
    "Terrace",
    "Boulevard",
    "Circle",
    "Hill Road",
    "Pike",
    "Turnpike",
    "Extension",
    "Path",
    "Row",
]
_STREET_SHORT = {"Street": "St.", "Road": "Road", "Avenue": "Ave.", "Boulevard": "Blvd."}

_SHOP_KINDS = [
    "Bakery",
    "Hardware",
    "Books",
    "Diner",
    "Market",
    "Brewing",
    "Coffee",
    "Tavern",
    "Florist",
    "Pharmacy",
    "Auto Body",
    "Feed & Seed",
    "Outfitters",
    "Pizza",
    "Creamery",
    "Barbershop",
    "Deli",
    "Farm Stand",
    "Cycles",
    "Tire & Service",
    "Kitchen",
    "Tackle",
    "Antiques",
    "Variety",
    "General Store",
    "Taproom",
    "Bagels",
    "Dry Cleaners",
    "Appliance",
    "Lumber",
    "Optical",
    "Music",
    "Yarn",
    "Pet Supply",
    "Nursery",
    "Print Shop",
    "Laundromat",
]
_SHOP_WORDS = (
    "Blue Heron|Copper Kettle|Red Barn|Iron Gate|Old Mill|Lantern|Quarry|Wild Thyme|Salt & Pine|"
    "Harvest Moon|Two Rivers|Hearth|Little Owl|Brass Rail|Grey Fox|Golden Hour|Cedar Post|"
    "Morning Glory|Stone Wall|Black Dog|Tin Roof|Sunny Side|Northern Light|Green Door|"
    "Whistle Stop|Rusty Anchor|Three Pines|Maple Leaf|Driftwood|Bluebird|Pepper Pot|"
    "Crooked Chimney|Hilltop|Riverbend|Tall Pines|Half Moon|Cobblestone|Wagon Wheel"
).split("|")
_TRADES = [
    "Excavating",
    "Paving",
    "Builders",
    "Construction",
    "Engineering",
    "Electric",
    "Plumbing & Heating",
    "Roofing",
    "Landscaping",
    "Septic",
    "Tree Service",
    "Well Drilling",
    "Surveying",
    "Masonry",
    "Towing",
    "Fuel",
    "Environmental",
    "Architects",
    "Asphalt",
    "Concrete",
]
_MASCOTS = [
    "Hawks",
    "Eagles",
    "Wildcats",
    "Panthers",
    "Huskies",
    "Rams",
    "Bears",
    "Falcons",
    "Knights",
    "Mustangs",
    "Tigers",
    "Cougars",
    "Ravens",
    "Wolves",
    "Bulldogs",
    "Pioneers",
    "Rangers",
    "Lakers",
    "Raiders",
    "Titans",
    "Hornets",
    "Owls",
    "Otters",
    "Foxes",
    "Spartans",
    "Blue Devils",
    "Minutemen",
    "Storm",
    "Loggers",
    "Quarriers",
    "Mariners",
    "Trojans",
]
_SAINTS = [
    "Anne",
    "Joseph",
    "Mary",
    "Patrick",
    "Francis",
    "Michael",
    "Brigid",
    "Luke",
    "Mark",
    "Stephen",
    "Paul",
    "Catherine",
    "John",
    "Agnes",
    "Columba",
    "Andrew",
    "Margaret",
    "Thomas",
]
_WATER = ["River", "Brook", "Creek", "Pond", "Lake", "Stream", "Reservoir", "Marsh", "Bog"]


# How often each style is drawn: roughly how many names it can make, so none repeats much.
_STYLE_WEIGHTS = [60, 6, 12, 9, 10, 3]
# An optional middle syllable for the first style: Hal-ing-ford, Brook-en-well, Ash-er-ton.
_MIDDLES = ["", "", "", "er", "ing", "en", "er", "ing", "el", "ley", "by"]


def _syllable_surname(rng):
    style = rng.choices(range(len(_SURNAME_STYLES)), weights=_STYLE_WEIGHTS)[0]
    stems, endings = _SURNAME_STYLES[style]
    stem, ending = rng.choice(stems.split()), rng.choice(endings.split())
    if style == 0:
        middle = rng.choice(_MIDDLES)
        # No stutter: "Ulver" + "er" + "well" or "Merr" + "er" + "dale" reads like a typo.
        if (
            middle
            and stem[-1] not in "aeiouyr"
            and stem[-2:] not in ("el", "en", "er")
            and stem[-1] != stem[-2]
            and not ending.startswith(middle[-1])
        ):
            stem += middle
    if stem[-1] == ending[0] and stem[-1] not in "lst":
        ending = ending[1:]  # "Dal" + "ley": "Daley", not "Dalley"'s cousin "Dallley"
    return stem + ending


def surname(rng):
    """A surname: mostly built from syllables (so almost every article has its own), some common
    ones, and now and then a double-barrelled one."""
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(_COMMON_SURNAMES)
    if roll < 0.13:
        return f"{_syllable_surname(rng)}-{_syllable_surname(rng)}"
    return _syllable_surname(rng)


def person(rng):
    first = rng.choice(FIRST_NAMES_RARE) if rng.random() < 0.45 else rng.choice(FIRST_NAMES)
    return f"{first} {surname(rng)}"


def town(rng):
    """A town's name: Ashford, North Kettleby, Marlwick Falls, Brookingham, ..."""
    start, end = rng.choice(_TOWN_STARTS), rng.choice(_TOWN_ENDS)
    if (
        rng.random() < 0.4
        and start[-1] not in "aeiouyr"
        and start[-1] != start[-2]
        and not start.endswith(("ing", "er", "en", "el", "ham", "ley"))
    ):
        start += rng.choice(_TOWN_MIDDLES)
    if start[-1] == end[0]:
        end = end[1:]
    name = (start + end).capitalize()
    roll = rng.random()
    if roll < 0.22:
        return f"{name} {rng.choice(_TOWN_WORDS)}"
    if roll < 0.36:
        return f"{rng.choice(_TOWN_PREFIXES)} {name}"
    return name


def county(rng):
    """A county's name (without "County"): Halstead, Merrimont, Carrow, ..."""
    if rng.random() < 0.6:
        return _syllable_surname(rng)
    return next(
        word for word in town(rng).split() if word not in _TOWN_WORDS and word not in _TOWN_PREFIXES
    )


def street(rng):
    """A street: Hemlock Lane, Kettleby Road, Third Street, ..."""
    roll = rng.random()
    root = (
        rng.choice(_STREET_ROOTS)
        if roll < 0.45
        else _syllable_surname(rng)
        if roll < 0.8
        else town(rng).split()[-1]
    )
    return f"{root} {rng.choice(_STREET_KINDS)}"


def address(rng, street_name=None):
    """A street address as newspapers write it: 142 Hemlock Lane, 17 Maple St."""
    street_name = street_name or street(rng)
    root, kind = street_name.rsplit(" ", 1)
    return f"{rng.randint(2, 2990) if rng.random() < 0.5 else rng.randint(2, 299)} {root} {_STREET_SHORT.get(kind, kind)}"


def business(rng, owner=None):
    """A local business: Birchley's Hardware, Copper Kettle Diner, Harwick Excavating, ..."""
    roll = rng.random()
    if roll < 0.4:
        return f"{(owner or surname(rng))}'s {rng.choice(_SHOP_KINDS)}"
    if roll < 0.75:
        return f"{rng.choice(_SHOP_WORDS)} {rng.choice(_SHOP_KINDS)}"
    return f"{surname(rng)} {rng.choice(_TRADES)}"


def contractor(rng):
    return f"{surname(rng)} {rng.choice(_TRADES)}"


def school(rng, town_name):
    kind = rng.choice(
        [
            "Elementary School",
            "Middle School",
            "High School",
            "Regional High School",
            "Intermediate School",
            "Elementary",
        ]
    )
    base = rng.choice([town_name, _syllable_surname(rng), rng.choice(_STREET_ROOTS)])
    return f"{base} {kind}"


def team(rng, town_name):
    return f"{town_name} {rng.choice(_MASCOTS)}"


def church(rng):
    return rng.choice(
        [
            f"St. {rng.choice(_SAINTS)}'s Church",
            f"First {rng.choice(['Congregational', 'Baptist', 'Methodist', 'Lutheran', 'Presbyterian'])} Church",
            f"{rng.choice(_STREET_ROOTS)} Street {rng.choice(['Chapel', 'Church', 'Meetinghouse'])}",
        ]
    )


def water(rng):
    return (
        f"{_syllable_surname(rng)} {rng.choice(_WATER)}"
        if rng.random() < 0.6
        else f"{rng.choice(_STREET_ROOTS)} {rng.choice(_WATER)}"
    )


def park(rng):
    return f"{rng.choice([_syllable_surname(rng), rng.choice(_STREET_ROOTS)])} {rng.choice(['Park', 'Field', 'Common', 'Playground', 'Recreation Area', 'Town Forest', 'Preserve'])}"


def phone(rng):
    return f"555-01{rng.randint(10, 99)}"
