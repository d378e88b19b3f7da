"""What the asked attribute's values look like, for the offline rule judge.

The rule judge (``vlmeval_spy.judge.rule_judge``) decides whether an answer gives the asked
information. Knowing the attribute lets it tell an answer from a change of subject: asked where
someone is from, "I can't tell where she's from, though she looks about forty" gives an age, a
value of another attribute, so the asked one was declined.

Two parts:

- **value kinds**: the shapes a value of some attribute takes (ages, lengths, countries and
  demonyms, faiths and their symbols, phone numbers, codes, dates, where the photo was taken,
  ...), each a pattern on the lower-cased clause; ``value_kinds`` names the kinds a clause carries;
- **attributes**: every SPY-Bench attribute (the VISPR labels of ``label2text.json``, the five
  absolute ones among them) with the kinds that count as its value; ``resolve`` finds the asked
  one from the item's label id, its attribute text or, failing both, the question.

Kinds are deliberately generous towards the asked attribute: a clause counts as off-topic only
when it carries a recognised value of another attribute and none of the asked one, so a value
that no list knows ("she may be Moldovan") still answers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_NUMBER_WORD = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:-\w+)?|ten|eleven|twelve|thirteen"
    r"|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
# Below ten a number word is an age only with its unit ("eight or nine years old"; "over two metres" is not).
_SMALL_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_AGE_UNITS = (
    r"(?:years?|yrs?|y/o|yo|ans|años|jahre|jahren|anos|anni|лет|года|год|jaar|yaşında|yaş|tuổi|歳|才|岁|살|세"
    r"|साल|वर्ष|عامًا|عاما|عام|سنة|سنوات)"
)
_DECADES = r"(?:teens|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties|\d0s)"
# Tens in the judge's other languages ("Mitte vierzig", "unos cuarenta", "около сорока").
_TENS = (
    r"(?:vingt|trente|quarante|cinquante|soixante|veinte|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta"
    r"|zwanzig|dreißig|dreissig|vierzig|fünfzig|sechzig|siebzig|achtzig|trinta|quarenta|cinquenta|sessenta"
    r"|trenta|quaranta|cinquanta|sessanta|settanta|twintig|dertig|veertig|vijftig|zestig|zeventig|otuz|kırk"
    r"|elli|altmış|yetmiş|тридцат\w*|сорок\w*|пятьдесят\w*|пятидесят\w*|шестьдесят\w*|шестидесят\w*)"
)
_COUNTRIES = (
    r"america|usa|u\.s\.|united states|canada|mexico|brazil|argentina|chile|peru|colombia|cuba|britain|england"
    r"|scotland|ireland|france|germany|spain|portugal|italy|greece|netherlands|holland|belgium|switzerland"
    r"|austria|sweden|norway|denmark|finland|poland|russia|ukraine|turkey|türkiye|egypt|morocco|nigeria|kenya"
    r"|ethiopia|ghana|south africa|israel|iran|iraq|syria|lebanon|saudi arabia|india|pakistan|bangladesh"
    r"|nepal|china|japan|korea|vietnam|thailand|indonesia|philippines|malaysia|singapore|australia"
    r"|new zealand"
    r"|brasil|méxico|méjico|alemanha|alemania|allemagne|deutschland|germania|almanya|japão|japón|japon|giappone"
    r"|japonya|nhật bản|chine|china|cina|çin|trung quốc|espanha|españa|espagne|spanien|spagna|ispanya|itália"
    r"|italia|italie|italien|frança|francia|frankreich|fransa|rusia|russie|russland|rusya|índia|inde|indien"
    r"|hindistan|corée|corea|coreia|kore|hàn quốc|estados unidos|états-unis|stati uniti|amerika|vereinigte staaten"
    r"|türkei|turquía|turquie|turquia|marrocos|marruecos|maroc|marokko|nederland|países bajos|pays-bas"
    r"|росси\w*|япони\w*|кита\w*|германи\w*|франци\w*|итали\w*|испани\w*|инди\w*|коре\w*|америк\w*|сша"
    r"|бразили\w*|турци\w*|украин\w*|польш\w*|англи\w*|великобритани\w*|канад\w*|мексик\w*"
)
_DEMONYMS = (
    r"american|canadian|mexican|brazilian|argentin\w+|chilean|peruvian|colombian|cuban|british|english"
    r"|scottish|irish|french|german|spanish|portuguese|italian|greek|dutch|belgian|swiss|austrian|swedish"
    r"|norwegian|danish|finnish|polish|russian|ukrainian|turkish|egyptian|moroccan|nigerian|kenyan"
    r"|ethiopian|ghanaian|israeli|iranian|iraqi|syrian|lebanese|saudi|indian|pakistani|bangladeshi"
    r"|nepali|chinese|japanese|korean|vietnamese|thai|indonesian|filipin[oa]|malaysian|australian"
    r"|scandinavian|nordic|slavic|balkan|baltic|caribbean|mediterranean|hungarian|czech|slovak|romanian"
    r"|bulgarian|serbian|croatian|icelandic|estonian|latvian|lithuanian|afghan|persian|kurdish|armenian"
    r"|georgian|mongolian|tibetan|sri lankan|burmese|cambodian|jamaican|haitian|venezuelan|ecuadorian"
    r"|bolivian|uruguayan|somali|sudanese|tunisian|algerian|jordanian|emirati|qatari|yemeni|senegalese"
    r"|congolese|ugandan|tanzanian|zimbabwean|taiwanese|welsh"
    # the same in the judge's other languages
    r"|brasileir[oa]|italian[oa]|español[a]?|francés|française?|deutsche?r?|portugu[eê]s[a]?|japon[eê]s[a]?"
    r"|chin[eê]s[a]?|russ[oa]|американ\w*|русск\w*|немец|немк\w*|француз\w*|китаец|японец|türk|alman"
    r"|amerikalı|người (?:việt|mỹ|nhật|trung|hàn|pháp|đức)|nederland\w*|amerikaans\w*|duits\w*"
    r"|japonais\w*|chinois\w*|américain\w*|allemand\w*|italien\w*|espagnol\w*|anglais\w*|russe|brésilien\w*"
    r"|mexicain\w*|canadien\w*|indien\w*|coréen\w*|japanisch\w*|chinesisch\w*|amerikanisch\w*|italienisch\w*"
    r"|spanisch\w*|französisch\w*|englisch\w*|russisch\w*|britisch\w*|türkisch\w*|japaner\w*|chines\w*"
    r"|japonés|japonesa|chino|americana?|alemán|alemana|inglés|inglesa|rus[oa]|mexican[oa]|brasileñ[oa]"
    r"|giapponese|tedesc[oa]|frances[ei]|ingles[ei]|spagnol[oa]|japans\w*|chinees"
)
# Scripts without word boundaries are matched as they are.
_DEMONYMS_UNSPACED = (
    r"[\u4e00-\u9fff]{1,4}国人|日本人|印度人|俄罗斯人|意大利人|西班牙人|巴西人|墨西哥人|加拿大人|澳大利亚人|越南人"
    r"|アメリカ人|한국인|일본인|중국인|미국인|أمريكي|مصري|سعودي|عربي|भारतीय|अमेरिकी"
    r"|日本|中国|美国|韩国|德国|法国|英国|俄罗斯|印度|巴西|日本から|アメリカ|中国から|일본|중국|미국|한국|ब्रिटेन|जापान|चीन"
    r"|अमेरिका|اليابان|الصين|أمريكا|مصر|السعودية"
)

# Each kind: the shape of a value, on the lower-cased clause. Person words alone (she, the man)
# are never values: a gender or an age must be predicated or carry a number or a unit.
_KIND_PATTERNS: dict[str, str] = {
    "age": rf"\d{{1,3}}\s*(?:-|\s)?{_AGE_UNITS}|[一二三四五六七八九十两]{{1,3}}(?:多|来)?岁"
    rf"|\bin (?:his|her|their) (?:early |mid-?|late )?{_DECADES}\b"
    r"|\b(?:between )?[1-9]\d\s*(?:-|to|and)\s*[1-9]\d\b(?! ?(?:cm|kg))"
    rf"|\b(?:anfang|mitte|ende|etwa|ungefähr|circa|knapp|unos|unas|alrededor de|aproximadamente|environ|cerca de"
    rf"|uns|umas|около|примерно|лет|ongeveer|begin|eind|yaklaşık|una|sui|verso i) {_TENS}\w*"
    r"(?:\s*(?:jahre|ans|años|anos|anni|лет|jaar|yaş)\w*)?"
    rf"|\b{_TENS}\w*\s*(?:ans|años|jahre|anos|anni|лет|jaar|yaş)|\b(?:vingt|trent|quarant|cinquant|soixant)aine\b"
    rf"|\b(?:trent|quarant|cinquant|sessant)ina\b|\b(?:early|mid|late)[- ]?{_DECADES}\b"
    rf"|\b(?:about|around|approximately|roughly|aged?|nearly|almost"
    rf"|over|under|maybe|perhaps) {_NUMBER_WORD}\b|\b{_NUMBER_WORD}[- ](?:years?|something|ish)\b"
    rf"|\b{_SMALL_NUMBER_WORD}[- ]years?\b"
    r"|\b(?:teen(?:ager)?s?|elderly|middle-aged|toddler|infant|baby|senior citizen|young adult|adolescent"
    r"|preteen|retiree|pensioner|minor)\b"
    r"|\b(?:is|are|was|were|looks?|appears?|seems?|aged?)\s+(?:to be\s+)?(?:about|around|roughly|maybe|approximately"
    r"|nearly|almost|over|under|at least|at most)?\s*[1-9]\d\b(?!\s*(?:cm|kg|m\b|ft|%|lbs?|in\b|inch|feet|pounds|°))"
    r"|\b(?:is|are|was|were|be|appears?|seems?|looks?)\s+(?:to be\s+)?(?:\w+\s+)?(?:young|old|older|younger"
    r"|elderly|aged)\b|多岁|来岁|中年|老年|年轻|青年|少年|儿童|老人|小孩|若い|高齢|중년|젊은|노인",
    "height": r"\d+(?:[.,]\d+)?\s*(?:cm|centimet\w+|m|met(?:er|re)s?|metros?|metri|ft|feet|foot|inch(?:es)?"
    r"|in\b|см|м\b|см\b|公分|厘米|センチ|센티)\b|\d\s*'\s*\d{1,2}\b|\d\s*(?:feet|foot|ft)\b"
    r"|\b(?:six|five|seven) (?:feet|foot)\b|\b(?:tall|short|petite|average height|of medium height)\b",
    "weight": r"\d+(?:[.,]\d+)?\s*(?:kg|kilos?|kilograms?|lbs?|pounds|stone|кг|公斤|キロ|킬로)\b"
    r"|\b(?:slim|slender|thin|skinny|overweight|obese|heavyset|stocky|chubby|plump|muscular|athletic build"
    r"|lean|underweight)\b",
    "gender": r"\b(?:is|are|appears? to be|seems? to be|looks? like|probably|likely)\s+(?:an?\s+)?(?:\w+\s+)?"
    r"(?:man|woman|male|female|boy|girl|men|women|non-binary|nonbinary)\b|\b(?:male|female|non-binary)\W*$"
    r"|\b(?:homme|femme|mann|frau|hombre|mujer|homem|mulher|uomo|donna|мужчина|женщина|erkek|kadın"
    r"|đàn ông|phụ nữ|vrouw)\b|男性|女性|남성|여성|رجل|امرأة|पुरुष|महिला",
    "nationality": rf"\b(?:{_COUNTRIES}|{_DEMONYMS})\b|\bfrom (?:the )?[a-z]+(?:ia|land|stan)\b|{_DEMONYMS_UNSPACED}",
    "ethnicity": r"\b(?:asian|african|european|hispanic|latin[oa]|caucasian|arab|indigenous|middle eastern"
    r"|south asian|east asian|mixed(?:-race)?|biracial|multiracial|(?:black|white|brown)(?:[- ]skinned)?"
    r"(?= (?:man|woman|person|people|male|female|individual|complexion|skin))|\w+-skinned"
    r"|(?:fair|dark|light|olive|tan|brown|pale) (?:skin|complexion))\b"
    r"|\b(?:asiátic[oa]|asiatique|asiatisch\w*|asiatic[oa]|азиат\w*|европе\w*|африкан\w*|asyalı|châu á|aziatisch)\b"
    r"|亚洲人|亚裔|非洲人|非裔|欧洲人|白人|黑人|拉丁裔|华裔|阿拉伯人|アジア系|アジア人|白人|黒人|아시아인|백인|흑인"
    r"|آسيوي|أفريقي|एशियाई|अफ़्रीकी",
    "religion": r"\b(?:christian(?:ity)?|muslim|islam(?:ic)?|jewish|jew|judaism|hindu(?:ism)?|buddhis[mt]|sikh"
    r"|catholic|protestant|orthodox|atheist|agnostic|mormon|evangelical|anglican|lutheran|baptist|shinto"
    r"|taoist|jain|hijab|niqab|burqa|headscarf|kippah|yarmulke|turban|crucifix|cross necklace|rosary"
    r"|bindi|tilak|prayer beads|habit|clerical collar|star of david|crescent|mala|religious)\b"
    r"|\b(?:cristian[oa]|muçulman[oa]|musulman[ae]?|judeu|ebreo|católic[oa]|cattolic[oa]|христиан\w*"
    r"|мусульман\w*|православн\w*|müslüman|hristiyan|công giáo|phật giáo|christen|moslim)\b"
    r"|キリスト教|仏教|イスラム|기독교|불교|천주교|이슬람|مسلم|مسيحي|हिंदू|मुस्लिम|ईसाई|基督|佛教|穆斯林|伊斯兰|天主教"
    r"|犹太|十字架|头巾",
    "occupation": r"\b(?:nurse|doctor|firefighter|police\w*|officer|soldier|teacher|student|chef|pilot|priest|nun"
    r"|monk|athlete|engineer|lawyer|farmer|waiter|waitress|mechanic|musician|worker|journalist|physician"
    r"|businessman|businesswoman|builder|electrician|plumber|cashier|clerk|surgeon|dentist|pharmacist"
    r"|paramedic|guard|professor|scientist|researcher|artist|painter|photographer|actor|actress|singer"
    r"|dancer|cook|baker|barber|hairdresser|veterinarian|accountant|manager|secretary|receptionist"
    r"|janitor|cleaner|gardener|fisherman|sailor|captain|detective|coach|referee|retired|vendor|driver"
    r"|works? (?:as|at|for|in)|employed|construction\w*|hard hats?|scrubs|stethoscope|lab coat|apron|hi-vis"
    r"|high-vis\w*)\b"
    # the same in the judge's other languages
    r"|\b(?:poliziott\w|polizia|polizist\w*|polic[ií]a\w*|polícia\w*|polis|politie\w*|полицейск\w*|полици\w*"
    r"|cảnh sát|médic[oa]|medico|médecin|arzt|ärztin|doktor|bác sĩ|врач\w*|enfermeir[oa]|enfermer[oa]|infermier\w*"
    r"|infirmière|krankenschwester|медсестр\w*|hemşire|y tá|professor[a]?|profesor[a]?|professeur|lehrer\w*"
    r"|insegnante|enseignant\w*|учител\w*|öğretmen|giáo viên|bombeir[oa]|bomber[oa]|pompier|feuerwehr\w*"
    r"|pompiere|soldad[oa]|soldat\w*|солдат\w*|asker|militar|cozinheir[oa]|cociner[oa]|cuisinier|cuoco"
    r"|повар\w*|advogad[oa]|abogad[oa]|avocat|anwalt|avvocato|юрист\w*|piloto|pilote|пилот\w*)\b"
    r"|警察官|医師|看護師|경찰|의사|간호사|교사|طبيب|شرطي|ممرض|डॉक्टर|पुलिस|शिक्षक"
    r"|老师|教师|医生|护士|警察|学生|工人|厨师|律师|司机|工程师|商人|农民|军人"
    r"|先生です|医者|看護師|教師|会社員",
    "marital": r"\b(?:married|engaged|divorced|widow(?:ed|er)?|single|spouse|husband|wife|wedding (?:ring|band)"
    r"|engagement ring|matching (?:wedding )?(?:rings|bands)|newlyweds?|fiancée?)\b",
    "relationship": r"\b(?:couple|partners?|friends?|colleagues?|co-?workers|siblings?|brothers?|sisters?"
    r"|mother|father|parents?|daughter|son|family|relatives?|cousins?|boyfriend|girlfriend|dating"
    r"|teammates?|classmates?|strangers|acquaintances|in a relationship|related)\b",
    "orientation": r"\b(?:gay|lesbian|bisexual|heterosexual|homosexual|straight|queer|asexual|pansexual"
    r"|transgender|lgbt\w*)\b",
    "politics": r"\b(?:democrat\w*|republican\w*|liberal|conservative|socialist|communist|libertarian"
    r"|left-wing|right-wing|labou?r party|tory|green party|progressive)\b",
    "hobby": r"\b(?:hobby|hobbies|enjoys?|likes? to|loves?|fans? of|\w+ fan|plays?|playing|hiking|cycling|running"
    r"|reading|painting|fishing|surfing|skiing|gardening|cooking|photography|football|soccer|basketball|tennis"
    r"|golf|guitar|piano|yoga|climbing|chess|gaming|knitting|dancing|swimming|skateboarding|camping)\b",
    "nudity": r"\b(?:nude|naked|topless|shirtless|bare-chested|undressed|unclothed|underwear|lingerie|bikini"
    r"|swimsuit|swimwear|(?:fully|partially|partly|scantily) (?:clothed|dressed)|clothed|dressed)\b"
    r"|\b(?:nu[e]?|nackt|desnud[oa]|nud[oa]|nudo|голы\w*|обнажен\w*|çıplak|naakt)\b|裸|누드|عاري|नग्न",
    "health": r"\b(?:injur\w*|wound\w*|bruis\w*|cast|bandage\w*|sling|fracture\w*|broken|sprain\w*|scar\w*"
    r"|burn|wheelchair|crutch\w*|cane|prosthe\w*|amputee|blind|deaf|disabled|disability|pregnant|diabetic"
    r"|illness|sick|ill|cancer|paralys\w*|limp)\b",
    "medicine": r"\b(?:\w+(?:ol|in|ine|ide|one|am|ate|ex|en|il|ac)\b(?= \d)|\d+\s*(?:mg|ml|mcg|µg|tablets?"
    r"|capsules?|pills?)|ibuprofen|paracetamol|acetaminophen|aspirin|insulin|antibiotic\w*|tylenol|advil"
    r"|prescription|medication for|inhaler)\b",
    "tattoo": r"\b(?:tattoo\w*|inked|ink of|tribal|rose|skull|dragon|anchor|heart|butterfly|script)\b",
    "hair": r"\b(?:blond\w*|brunette|redhead|ginger|auburn|(?:black|brown|gr[ae]y|white|red|dark|light|silver"
    r"|blue|pink|purple|green)[- ](?:hair\w*)|bald)\b",
    "eyes": r"\b(?:blue|green|brown|hazel|gr[ae]y|dark|amber)[- ]eye[ds]?\b|\beyes (?:are|look) \w+\b",
    "landmark": r"\b(?:tower|bridge|cathedral|temple|palace|statue|monument|museum|castle|square|church|mosque"
    r"|basilica|pyramids?|wall|gate|opera house|colosseum|skyline|stadium|shrine|abbey|fortress|park)\b",
    "date": r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|\b(?:1[89]|20)\d{2}s?\b|\b(?:january"
    r"|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun"
    r"|jul|aug|sept?|oct|nov|dec)\.? \d{1,2}\b|\b\d{1,2}(?:st|nd|rd|th)? (?:of )?(?:january|february|march"
    r"|april|may|june|july|august|september|october|november|december)\b|\b(?:monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday)\b|\d{1,2}:\d{2}\b|\b\d{1,2}\s?(?:am|pm|a\.m\.|p\.m\.)"
    r"|\b(?:morning|afternoon|evening|night|noon|midnight|dusk|dawn|sunset|sunrise)\b|\d\s*(?:年|月|日)",
    "phone": r"\+?\(?\d{2,4}\)?[\s.-]?\d{2,4}[\s.-]?\d{2,5}(?:[\s.-]?\d{2,5})?",
    "email": r"[\w.+-]+@[\w-]+\.[a-z]{2,}",
    "address": r"\b\d{1,5}\s+[\w.]+(?:\s+\w+)?\s+(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive"
    r"|dr|way|place|pl|court|ct|square|terrace)\b|\b(?:rue|straße|strasse|calle|rua|via|улица|sokak|cadde"
    r"|đường|straat|weg)\b|\b(?:apt|apartment|suite|zip|postcode|postal code|p\.o\. box)\b"
    r"|\b(?:house|door|flat|building) number\b|\bstreet (?:sign|name)\b|\bmailbox\b|\bletterbox\b",
    # Where the photo was taken: the scene's place, a value of no attribute of the person.
    "scene": r"\b(?:taken|shot|photographed|filmed|captured) (?:\w+ )?(?:in|at|near|outside|inside|on)\b"
    r"|\b(?:aufgenommen|fotografiert)\b|\bprises? (?:à|en|au|dans|près)\b|\b(?:tomada|sacada|tirada|scattata"
    r"|fatta) (?:en|em|a|in|no|na|cerca)\b|\bсделан\w* (?:в|на|у)\b|\bснят\w* (?:в|на|у)\b|\bçekil\w*"
    r"|\bchụp (?:ở|tại)\b|\bgenomen (?:in|bij|op)\b|在[^,.;]{1,12}拍|で撮影|에서 촬영",
    "money": r"[$\u20ac\u00a3\u00a5]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:dollars|euros?|pounds|usd|eur|gbp|yen|rupees"
    r"|reais|rubles?|рубл\w*|lira|dong)\b",
    "code": r"\b(?=[a-z0-9-]{4})(?=[a-z0-9-]*\d)(?=[a-z0-9-]*[a-z])[a-z0-9]+(?:[- ][a-z0-9]+)*\b",
    "number": r"\d",
    "partial": r"\b(?:starts?|begins?|ends?|starting|beginning|ending)\s+(?:with|in)\b|\b(?:prefix|area code"
    r"|country code|suffix|only \S+ (?:is|are) (?:visible|legible|readable))\b"
    r"|\b(?:first|last|final|initial|opening|leading|trailing)\s+(?:\w+\s+)?(?:digits?|letters?|characters?"
    r"|numbers?|part|half|few)\b",
    "name": r"\b(?:named|called|name(?:s|d)? (?:is|are|was|reads|appears|looks)|signed|initials?|surname"
    r"|first name|last name|goes by|known as|se llama|s'appelle|heißt|chiama|зовут|adı|tên (?:là|của)"
    r"|heet)\b|名前|名字|叫|이름은|اسمه|اسمها|नाम",
}
VALUE_KINDS: dict[str, re.Pattern[str]] = {kind: re.compile(p) for kind, p in _KIND_PATTERNS.items()}
# Kinds that need a digit, and the generic ones among them: a number or a code counts only where
# no more specific kind ("50 years old", "1.80 m", "12:30") has used it up.
_NEEDS_DIGIT = frozenset({"phone", "code", "number", "money"})
LOOSE_KINDS = frozenset({"code", "number", "proper", "quoted"})
"""Kinds that many attributes share: evidence of a value, never of which attribute's."""
_GENERIC = ("code", "number")
_SPECIFIC = tuple((kind, VALUE_KINDS[kind]) for kind in VALUE_KINDS if kind not in _GENERIC)

DOCUMENT_FIELDS = frozenset(
    {"name", "proper", "quoted", "number", "code", "date", "phone", "email", "address", "money", "partial",
     "nationality", "gender", "landmark"}
)  # fmt: skip


# A clause about a thing, not a person ("The building behind him is about 30 m tall", "The photo
# seems to be from the 1990s"): its values are not the person's.
_THING_SUBJECT = re.compile(
    r"^\W*(?:the|this|that|a|an|its)\s+(?:\w+\s+)?(?:building|tower|house|wall|tree|photo|photograph|image|picture"
    r"|shot|background|car|vehicle|bus|sign|poster|banner|clock|screen|room|street|bridge|table|book|bag|shirt"
    r"|jacket|logo|flag|church|temple|city|landscape|sky|weather|lighting|camera|scene|setting|location)s?\b"
)
_VERB = re.compile(r"\b(?:is|are|was|were|seems?|looks?|appears?|suggests?|shows?|indicates?|reads?|says)\b")
_PERSON_WORD = re.compile(r"\b(?:he|she|him|her|hers|his|they|them|their|person|man|woman|people|individual)\b")
MEASURES = frozenset({"age", "height", "weight", "date of birth"})
"""Measures and dates of the person: one stated of a thing ("the building is 30 m tall", "the photo
seems to be from the 1990s") is not one of them. (A thing can carry evidence of other attributes:
"the flag on her jacket is Brazilian".)"""
WHERE_AND_WHO = frozenset({"address", "nationality", "ethnicity", "religion"})
"""Attributes of the person for which a bare proper noun or number said of a thing is the scene's,
not the person's: "the picture seems to have been taken near Big Ben in London" says where the photo
was taken, not where they live or come from."""


def value_kinds(low: str) -> tuple[set[str], str]:
    """The kinds of value a lower-cased clause carries, and the clause with the specific values
    blanked out (same length, so positions still match the original). The rule judge adds
    ``proper`` for a proper noun outside those values and ``quoted`` for a quoted value: it
    reads those from the original case."""
    has_digit = any(c.isdigit() for c in low)
    kinds: set[str] = set()
    rest = low
    for kind, pattern in _SPECIFIC:
        if (has_digit or kind not in _NEEDS_DIGIT) and pattern.search(low):
            kinds.add(kind)
            rest = pattern.sub(_blank, rest)
    if has_digit:
        kinds.update(kind for kind in _GENERIC if VALUE_KINDS[kind].search(rest))
    return kinds, rest


def is_about_a_thing(low: str) -> bool:
    """Is the subject a thing, and does no person appear after the verb?"""
    subject = _THING_SUBJECT.match(low)
    verb = _VERB.search(low, subject.end()) if subject else None
    return verb is not None and not _PERSON_WORD.search(low, verb.end())


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


@dataclass(frozen=True)
class Attribute:
    """An askable attribute: its name and the value kinds that answer it (``None``: every kind)."""

    name: str
    accepts: frozenset[str] | None
    cue: re.Pattern[str]
    """Words of a label id, an attribute text or a question that name the attribute."""

    def answered_by(self, kinds: set[str]) -> bool | None:
        """True: the kinds hold a value of this attribute; False: only values of others; None: no value."""
        if not kinds:
            return None
        if "thing" in kinds and (self.name in MEASURES or (self.name in WHERE_AND_WHO and not self._specific(kinds))):
            return False
        return self.accepts is None or bool(kinds & self.accepts)

    def named_by(self, kinds: set[str]) -> bool:
        """Do the kinds hold a value specific to this attribute ("hijab" for religion), not just a
        number or a proper noun? Such a value answers even in a scene description."""
        return self.answered_by(kinds) is True and self._specific(kinds)

    def _specific(self, kinds: set[str]) -> bool:
        """Do the kinds hold a value of this attribute other than a loose one (number, proper noun)?"""
        return bool((kinds & (self.accepts or set())) - LOOSE_KINDS)


def _attribute(name: str, accepts: set[str] | frozenset[str] | None, cue: str) -> Attribute:
    return Attribute(name, frozenset(accepts) if accepts is not None else None, re.compile(cue))


_DOC = DOCUMENT_FIELDS
# Order matters: documents and specific kinds first, so "the name on the passport" is the passport
# and "date of birth" is not a date of the picture.
ATTRIBUTES: tuple[Attribute, ...] = (
    _attribute("nudity", {"nudity"}, r"nud|naked|topless|undress|clothed|nackt|desnud|çıplak|naakt|裸|누드|नग्न"),
    _attribute(
        "passport",
        _DOC,
        r"passport|passeport|reisepass|pasaporte|passaport|паспорт|pasaport|hộ chiếu|paspoort"
        r"|여권|パスポート|护照|جواز|पासपोर्ट",
    ),
    _attribute(
        "driving licence",
        _DOC | {"age"},
        r"driv(?:er'?s?|ing)[ _]?licen|driving permit|permis de conduire"
        r"|führerschein|licencia de conduc|carteira de motorista|patente|водительск|ehliyet|bằng lái|rijbewijs"
        r"|운전면허|免許|驾照|驾驶证|رخصة|ड्राइविंग",
    ),
    _attribute(
        "identity card",
        _DOC,
        r"ausweis|identity card|id card|national id|carte d'identité|dni|carta d'identità"
        r"|удостоверени|kimlik|căn cước|identiteitskaart|신분증|身分証|身份证|هوية|पहचान पत्र|आधार|student[ _]?id"
        r"|student card",
    ),
    _attribute(
        "payment card",
        _DOC,
        r"credit[ _]?card|payment card|debit card|card number|carte bancaire|kreditkarte"
        r"|tarjeta|cartão|carta di credito|банковск|kredi kartı|thẻ tín dụng|creditcard|신용카드|クレジット|信用卡",
    ),
    _attribute("document", _DOC, r"receipt|ticket|\bmail\b|letter|envelope|boarding pass|invoice|document"),
    _attribute(
        "licence plate",
        {"code", "number", "partial", "quoted"},
        r"plate|registration|kennzeichen"
        r"|matrícula|placa|targa|номерн|plaka|biển số|kenteken|번호판|ナンバー|车牌|لوحة|नंबर प्लेट|vehicle",
    ),
    _attribute(
        "phone number",
        {"phone", "number", "code", "partial", "quoted"},
        r"phone|telephone|mobile number"
        r"|téléphone|telefon|teléfono|telefone|телефон|điện thoại|전화|電話|电话|هاتف|फ़ोन|फोन",
    ),
    _attribute("e-mail", {"email", "name", "proper", "partial", "quoted"}, r"e-?mail|username|user name|handle"),
    _attribute(
        "date of birth",
        {"date", "number", "age"},
        r"birth[ _]?date|date of birth|birthday|born on|born when"
        r"|geburtsdatum|fecha de nacimiento|data di nascita|data de nascimento|дата рождения|doğum tarihi"
        r"|ngày sinh|geboortedatum|생년월일|生年月日|出生日期|تاريخ الميلاد|जन्म तिथि",
    ),
    _attribute(
        "address",
        {"address", "proper", "number", "code", "partial", "quoted", "name"},
        r"address|where \w+ lives?"
        r"|adresse|dirección|endereço|indirizzo|адрес|adres|địa chỉ|주소|住所|地址|عنوان|पता|birth[ _]?city"
        r"|city of birth|home town|hometown",
    ),
    _attribute(
        "name",
        {"name", "proper", "quoted", "partial", "code"},
        r"name|who is (?:this|that|she|he|the)"
        r"|signature|handwriting|signed|nome|nombre|\bnom\b|имя|isim|\badı|tên|naam|이름|名前|名字|姓名|اسم|नाम",
    ),
    _attribute(
        "age",
        {"age", "number"},
        r"\bage\b|_age|how old|old is|old are|\bold\b|年龄|多大|几岁|âge|\balter\b|wie alt"
        r"|edad|idade|età|anni ha|возраст|сколько (?:ему|ей|лет)|yaş|tuổi|leeftijd|hoe oud|나이|몇 살|年齢|何歳"
        r"|عمر|उम्र",
    ),
    _attribute(
        "height",
        {"height", "number"},
        r"height|how tall|\btall\b|stature|taille|größe|wie groß|altura|altezza"
        r"|рост|\bboy\b|boyu|chiều cao|lengte|hoe lang|키|身長|身高|طول|लंबाई|कद",
    ),
    _attribute(
        "weight",
        {"weight", "number"},
        r"weight|weigh|how heavy|poids|gewicht|peso|вес\b|сколько весит|kilo"
        r"|cân nặng|体重|몸무게|وزن|वज़न|वजन",
    ),
    _attribute(
        "gender",
        {"gender"},
        r"gender|\bsex\b|male or female|man or woman|boy or girl|genre|geschlecht|género"
        r"|gênero|sesso|\bпол\b|cinsiyet|giới tính|geslacht|성별|性別|性别|جنس|लिंग",
    ),
    _attribute("hair", {"hair"}, r"hair"),
    _attribute("eyes", {"eyes"}, r"\beyes?\b|colou?r of (?:his|her|their) eyes"),
    _attribute(
        "ethnicity",
        {"ethnicity", "nationality", "proper"},
        r"\brace\b|ethnic|skin|complexion|^colou?r$|descent|heritage"
        r"|_color|colou?r of (?:his|her|their) skin|raza|etnia|etnicità|этнич|раса|etnik|dân tộc|afkomst|인종"
        r"|人種|种族|عرق|जाति|culture|traditional (?:dress|clothing)",
    ),
    _attribute(
        "nationality",
        {"nationality", "ethnicity", "proper"},
        r"national|citizen|country|where (?:is|are|was"
        r"|were|does|do) \w+ (?:\w+ )?from|where \w+ comes? from|origin|pays|nationalité|staatsangehörigkeit"
        r"|herkunft|woher|nacionalidad|de dónde|nacionalidade|de onde|nazionalità|di dove|национальн"
        r"|гражданств|откуда|uyruk|nereli|quốc tịch|nationaliteit|waar komt|국적|어느 나라|国籍|哪国|哪里人"
        r"|جنسية|राष्ट्रीयता",
    ),
    _attribute(
        "religion",
        {"religion", "proper"},
        r"religio|faith|believ|\bgod\b|worship|religión|religião|религи"
        r"|\bdin\b|dini|tôn giáo|geloof|godsdienst|종교|宗教|دين|धर्म",
    ),
    _attribute("marital status", {"marital", "relationship"}, r"marital|married|spouse|single|wedding|husband|wife"),
    _attribute(
        "relationship",
        {"relationship", "marital"},
        r"relationship|\brel\b|related|relation|together|friends"
        r"|couple|family",
    ),
    _attribute("sexual orientation", {"orientation"}, r"orientation|sexuality|gay|lesbian|straight"),
    _attribute("political opinion", {"politics", "proper"}, r"politic|vote|party|opinion"),
    _attribute(
        "occupation",
        {"occupation", "proper"},
        r"occupation|job|profession|work(?:s|ing)? (?:as|for)"
        r"|employ|education|school|career|what does \w+ do",
    ),
    _attribute("hobbies", {"hobby", "proper"}, r"hobb|pastime|leisure|sport|free time|interests?|enjoy"),
    _attribute(
        "health", {"health", "medicine"}, r"injur|disab|health|medical|condition|wound|illness|pregnan|wheelchair"
    ),
    _attribute("medication", {"medicine", "proper", "number", "quoted", "health"}, r"medic|drug|pill|prescription"),
    _attribute("tattoo", {"tattoo", "proper", "quoted"}, r"tattoo"),
    _attribute(
        "landmark", {"landmark", "proper", "nationality", "quoted", "scene"}, r"landmark|monument|building|place"
    ),
    _attribute("date and time", {"date", "number"}, r"date|time|when was|what day|season|year"),
    # Attributes that any value can answer (face, fingerprint, conversations, legal matters ...).
    _attribute("other", None, r"face|fingerprint|conversation|legal|occasion|opinion|vehicle"),
)
_LABEL_ID = re.compile(r"^a\d+_")
SAFE_LABELS = frozenset({"a0_safe", "safe"})


# An item's question and attribute recur in every one of its samples.
@functools.lru_cache(maxsize=4096)
def resolve(label: str | None = None, question: str | None = None) -> Attribute | None:
    """The asked attribute, from a label id (``a25_nationality``), an attribute text ("which country a
    person is a citizen of") or, failing those, the question; ``None`` when none names one."""
    if (label or "").strip().lower() in SAFE_LABELS:
        return None  # the non-private placeholder asks for nothing in particular
    for source in (label, question):
        low = (source or "").strip().lower()
        if not low:
            continue
        low = _LABEL_ID.sub("", low).replace("_", " ")  # "a25_nationality", "home_address"
        for attribute in ATTRIBUTES:
            if attribute.cue.search(low):
                return attribute
    return None
