// liaison-gendir: writes a large synthetic contact directory as JSON lines.
//
//   liaison-gendir --count N [--first N] [--seed S] [--countries KG,KZ,TH,...] [--out FILE]
//   (--first: the number of the first record, so that several files hold distinct ids)
//
// Every record is a focal point in the JSON form of DESIGN.md ("JSON forms"), with
// the keys in the order of the example there. The people are invented: names are
// drawn from per-country pools, e-mail addresses use example.<cctld> domains and
// telephone numbers carry a "000" block after the real country calling code.
//
// The output is a pure function of (count, seed, countries): the generator is
// std::mt19937_64, whose sequence the C++ standard fixes, and every draw goes
// through our own unbiased bounded mapping (never std::uniform_int_distribution,
// whose algorithm differs between standard libraries).
//
// Exit status: 0 on success, 2 on a usage error (one-line reason on stderr),
// 1 when the output cannot be written.

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

// ---------------------------------------------------------------------------
// Vocabularies (the loader's closed lists)

constexpr std::array<const char*, 9> kRoles = {
    "prosecutor",      "central-authority",     "investigator",    "interpol-ncb", "judge",
    "liaison-officer", "network-contact-point", "victim-services", "secretariat"};

constexpr std::array<const char*, 10> kTopics = {
    "trafficking-in-persons", "smuggling-of-migrants", "cybercrime",
    "money-laundering",       "forced-labour",         "sexual-exploitation",
    "child-protection",       "organ-removal",         "corruption",
    "drug-trafficking"};

constexpr std::array<const char*, 7> kCompetences = {"mla",
                                                     "extradition",
                                                     "joint-investigation",
                                                     "spontaneous-information",
                                                     "asset-recovery",
                                                     "transfer-of-sentenced-persons",
                                                     "video-hearing"};

constexpr std::array<const char*, 9> kTitles = {
    "Prosecutor, International Legal Cooperation",
    "Head of Division, Central Authority for Mutual Legal Assistance",
    "Senior Investigator, Anti-Trafficking Unit",
    "Officer, INTERPOL National Central Bureau",
    "Judge, Criminal Chamber",
    "Police Liaison Officer",
    "Network Contact Point",
    "Victim Support Coordinator",
    "Network Secretariat Officer"};

constexpr std::array<const char*, 9> kUnits = {
    "Department of International Legal Cooperation",
    "Central Authority for Mutual Legal Assistance in Criminal Matters",
    "Anti-Trafficking Unit",
    "National Central Bureau of INTERPOL",
    "Criminal Chamber",
    "International Police Cooperation Department",
    "International Cooperation Department, Network Contact Point",
    "Victim Support and Referral Service",
    "Secretariat"};

// Names for desks and authorities, by role.
constexpr std::array<const char*, 9> kDeskNames = {"International Cooperation Duty Desk",
                                                   "Central Authority Duty Desk",
                                                   "Anti-Trafficking Duty Desk",
                                                   "NCB Duty Room",
                                                   "Court Registry",
                                                   "Police Liaison Desk",
                                                   "Network Contact Desk",
                                                   "Victim Assistance Desk",
                                                   "Network Secretariat"};

enum class Script { None, CyrKy, CyrKk, CyrTg, Armenian, Georgian, AzLatin };
enum class Order { GivenFamily, FamilyGiven, Patronymic /* X bin/binti Y */ };

struct CountryDef {
  const char* code;
  const char* network;
  const char* tz;
  const char* dial;
  std::vector<const char*> areas;       // landline area codes
  std::vector<const char*> mobiles;     // mobile prefixes
  std::vector<const char*> localities;  // capital first
  std::vector<const char*> langs;       // preference order: national, then ru/en
  std::vector<const char*> hours;
  std::vector<const char*> bases;  // instruments the country is party to
  const char* prosecution;
  const char* justice;  // the central authority for MLA
  const char* police;
  const char* court;
  const char* social;
  Script script;
  Order order;
  const char* honorificM;
  const char* honorificF;
  std::vector<const char*> givenM, givenF, family;
};

// ---------------------------------------------------------------------------
// Name pools. In Cyrillic, Armenian and Georgian pools the original script is
// the source and the Latin form is derived (see Translit); Azerbaijani
// pools are in Azerbaijani Latin and the plain-ASCII Latin form is derived.

std::vector<CountryDef> makeCountries() {
  const char* casc = "CASC";
  const char* sea = "SEAJust";
  const std::vector<const char*> cascHours = {"Mo-Fr 09:00-18:00", "Mo-Fr 09:00-18:00",
                                              "Mo-Fr 08:30-17:30",
                                              "Mo-Th 08:30-17:30; Fr 08:30-12:00"};
  const std::vector<const char*> seaHours = {"Mo-Fr 08:00-17:00", "Mo-Fr 08:30-16:30",
                                             "Mo-Fr 08:00-16:00",
                                             "Mo-Th 08:00-17:00; Fr 08:00-16:30"};
  const std::vector<const char*> cisBases = {"UNTOC", "UNCAC", "Minsk-1993", "Chisinau-2002"};
  const std::vector<const char*> cisBasesNoChisinau = {"UNTOC", "UNCAC", "Minsk-1993"};
  const std::vector<const char*> aseanBases = {"UNTOC", "UNCAC", "ASEAN-MLAT"};

  const std::vector<const char*> malayM = {"Ahmad",    "Mohd",    "Hairul", "Azlan",   "Faizal",
                                           "Hazwan",   "Khairul", "Rizal",  "Shahrul", "Syafiq",
                                           "Amirul",   "Hafiz",   "Izzat",  "Nazri",   "Rosli",
                                           "Zulkifli", "Hamdan",  "Johari", "Salleh",  "Yusri"};
  const std::vector<const char*> malayF = {
      "Nurul",    "Siti",     "Hafizah", "Aisyah", "Fatimah", "Norhayati", "Rozita",
      "Zuraidah", "Haslinda", "Suraya",  "Nadia",  "Amalina", "Syazwani",  "Farah",
      "Liyana",   "Raihana",  "Salmah",  "Zainab", "Azizah",  "Rohani"};
  const std::vector<const char*> malayFathers = {
      "Abdullah", "Osman",   "Ismail",   "Yusof",  "Hassan",   "Ibrahim", "Ahmad",  "Omar",
      "Salleh",   "Bakar",   "Hamid",    "Rahman", "Latif",    "Jaafar",  "Kassim", "Mahmud",
      "Noordin",  "Othman",  "Sulaiman", "Tahir",  "Yaakub",   "Zainal",  "Ali",    "Daud",
      "Harun",    "Idris",   "Jamil",    "Kamal",  "Mohamad",  "Musa",    "Nasir",  "Ramli",
      "Said",     "Taib",    "Wahab",    "Yahya",  "Zakaria",  "Aziz",    "Bahar",  "Hashim",
      "Husin",    "Ishak",   "Jalil",    "Karim",  "Mansor",   "Mustafa", "Razak",  "Rosli",
      "Sabri",    "Shukor",  "Tajuddin", "Usman",  "Zulkifli", "Halim",   "Hamzah", "Junaidi",
      "Majid",    "Matusin", "Sahat",    "Tengah"};

  std::vector<CountryDef> c;
  c.push_back(
      {"AM",
       casc,
       "Asia/Yerevan",
       "374",
       {"10", "312", "322"},
       {"77", "91", "99"},
       {"Yerevan", "Gyumri", "Vanadzor"},
       {"hy", "ru", "en"},
       cascHours,
       cisBases,
       "Prosecutor General's Office of the Republic of Armenia",
       "Ministry of Justice of the Republic of Armenia",
       "Police of the Republic of Armenia",
       "Court of Cassation of the Republic of Armenia",
       "Ministry of Labour and Social Affairs of the Republic of Armenia",
       Script::Armenian,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Արմեն",     "Տիգրան",  "Դավիթ",  "Գևորգ",  "Արամ",   "Հայկ",  "Նարեկ",
        "Վահե",      "Սամվել",  "Արթուր", "Կարեն",  "Ռուբեն", "Աշոտ",  "Գագիկ",
        "Հովհաննես", "Միքայել", "Էդգար",  "Սերգեյ", "Արսեն",  "Վարդան"},
       {"Լիլիթ",    "Անի",     "Մարիամ", "Նարինե", "Գայանե",   "Արմինե", "Աննա",
        "Սիրանուշ", "Լուսինե", "Անահիտ", "Տաթևիկ", "Հասմիկ",   "Շուշան", "Զառա",
        "Մերի",     "Էլեն",    "Նունե",  "Աստղիկ", "Քրիստինե", "Գոհար"},
       {"Հակոբյան",    "Սարգսյան",    "Պետրոսյան", "Հովհաննիսյան",  "Գրիգորյան",  "Խաչատրյան",
        "Մարտիրոսյան", "Կարապետյան",  "Ավետիսյան", "Հարությունյան", "Մկրտչյան",   "Սահակյան",
        "Վարդանյան",   "Ստեփանյան",   "Մանուկյան", "Բաղդասարյան",   "Գասպարյան",  "Աբրահամյան",
        "Դավթյան",     "Ղազարյան",    "Մելքոնյան", "Պողոսյան",      "Թադևոսյան",  "Զաքարյան",
        "Եղիազարյան",  "Ավագյան",     "Առաքելյան", "Բաբայան",       "Գալստյան",   "Դանիելյան",
        "Թորոսյան",    "Իսրայելյան",  "Լազարյան",  "Խաչիկյան",      "Կիրակոսյան", "Համբարձումյան",
        "Ղուկասյան",   "Մովսիսյան",   "Նազարյան",  "Շահինյան",      "Ոսկանյան",   "Չոբանյան",
        "Պապոյան",     "Ջհանգիրյան",  "Ռոստոմյան", "Սիմոնյան",      "Վասիլյան",   "Տոնոյան",
        "Փիլոսյան",    "Քալանթարյան", "Օհանյան",   "Ֆարմանյան",     "Աղաջանյան",  "Բարսեղյան",
        "Գևորգյան",    "Երիցյան",     "Զոհրաբյան", "Թովմասյան",     "Մինասյան",   "Սաֆարյան"}});
  c.push_back(
      {"AZ",
       casc,
       "Asia/Baku",
       "994",
       {"12", "22", "18"},
       {"50", "55", "70"},
       {"Baku", "Ganja", "Sumgait"},
       {"az", "ru", "en"},
       cascHours,
       cisBases,
       "Prosecutor General's Office of the Republic of Azerbaijan",
       "Ministry of Justice of the Republic of Azerbaijan",
       "Ministry of Internal Affairs of the Republic of Azerbaijan",
       "Supreme Court of the Republic of Azerbaijan",
       "Ministry of Labour and Social Protection of Population of the Republic of Azerbaijan",
       Script::AzLatin,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Rəşad", "Elvin", "Orxan", "Tural", "Kamran", "Elnur", "Vüqar",
        "Anar",  "Fərid", "Ramil", "Cavid", "Ruslan", "Nicat", "Səbuhi",
        "Emin",  "Xəyal", "Əli",   "Murad", "İlkin",  "Şahin"},
       {"Leyla",  "Günay",  "Aygün",  "Nigar",  "Səbinə", "Aynur",   "Könül",
        "Lalə",   "Nərmin", "Fidan",  "Gülnar", "Sevinc", "Ülviyyə", "Aysel",
        "Türkan", "Şəbnəm", "Zərifə", "Xədicə", "Məryəm", "Çinarə"},
       {"Məmmədov",  "Hüseynov",   "Əliyev",     "Həsənov",    "Quliyev",  "Cəfərov",
        "İsmayılov", "Abbasov",    "Babayev",    "Nəsirov",    "Rəhimov",  "Xəlilov",
        "Ağayev",    "Kərimov",    "Vəliyev",    "Bağırov",    "Musayev",  "Orucov",
        "Səfərov",   "Qasımov",    "Rzayev",     "Süleymanov", "Zeynalov", "Əhmədov",
        "Şükürov",   "Qurbanov",   "Mustafayev", "Hacıyev",    "Novruzov", "Paşayev",
        "Sadıqov",   "Təhmasibov", "Yusifov",    "Bayramov",   "Cəbiyev",  "Dadaşov",
        "Eyvazov",   "Fərzəliyev", "Heydərov",   "İbrahimov",  "Kazımov",  "Lətifov",
        "Mirzəyev",  "Nağıyev",    "Osmanov",    "Piriyev",    "Rüstəmov", "Salmanov",
        "Talıbov",   "Ələkbərov",  "Vahidov",    "Yaqubov",    "Zamanov",  "Allahverdiyev",
        "Bəşirov",   "Çələbiyev",  "Hümbətov",   "Qafarov",    "Şirinov",  "Tağıyev"}});
  c.push_back(
      {"GE",
       casc,
       "Asia/Tbilisi",
       "995",
       {"32", "422", "431"},
       {"555", "577", "599"},
       {"Tbilisi", "Batumi", "Kutaisi"},
       {"ka", "en", "ru"},
       cascHours,
       cisBasesNoChisinau,
       "Prosecution Service of Georgia",
       "Ministry of Justice of Georgia",
       "Ministry of Internal Affairs of Georgia",
       "Supreme Court of Georgia",
       "State Care Agency of Georgia",
       Script::Georgian,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"გიორგი", "დავით",      "ლევან",   "ნიკოლოზ", "ირაკლი",   "ზურაბ", "ლაშა",
        "ბექა",   "ალექსანდრე", "თორნიკე", "ვახტანგ", "დიმიტრი",  "ლუკა",  "სანდრო",
        "მამუკა", "გიგა",       "ოთარ",    "შოთა",    "ავთანდილ", "ნოდარ"},
       {"ნინო",    "თამარ", "მარიამ", "ანა",   "ეკატერინე", "ნათია", "სალომე",
        "ქეთევან", "მაია",  "ლელა",   "თეონა", "ხატია",     "ნანა",  "ელენე",
        "სოფიო",   "ნატო",  "ია",     "მაკა",  "თინათინ",   "ლიკა"},
       {"ბერიძე",       "კაპანაძე",     "მაისურაძე",   "გელაშვილი", "ლომიძე",     "ხუციშვილი",
        "ბაქრაძე",      "ჯაფარიძე",     "ნოზაძე",      "ტაბატაძე",  "გიორგაძე",   "ცერცვაძე",
        "მამულაშვილი",  "კვარაცხელია",  "ჩიქოვანი",    "გოგოლაძე",  "აბაშიძე",    "ბოლქვაძე",
        "ჭანტურია",     "ღლონტი",       "ქავთარაძე",   "მელაძე",    "ნიჟარაძე",   "სვანიძე",
        "ტყეშელაშვილი", "ფანცულაია",    "შენგელია",    "ჩხეიძე",    "ცინცაძე",    "ძნელაძე",
        "წიკლაური",     "ჭელიძე",       "ხოსიტაშვილი", "ჯანელიძე",  "ავალიანი",   "ბურდული",
        "გაბუნია",      "დოლიძე",       "ვაჩნაძე",     "ზოიძე",     "თოდუა",      "იაშვილი",
        "კიკნაძე",      "ლორთქიფანიძე", "მიქაბერიძე",  "ნადირაძე",  "ოქროპირიძე", "პაპავა",
        "ჟღენტი",       "რუხაძე",       "სამხარაძე",   "ტურაშვილი", "უგრეხელიძე", "ფხაკაძე",
        "ქიმერიძე",     "ღვინიაშვილი",  "ყიფიანი",     "შარაშიძე",  "ჩაჩავა",     "ცხადაძე"}});
  c.push_back(
      {"KZ",
       casc,
       "Asia/Almaty",
       "7",
       {"7172", "727", "7212"},
       {"701", "705", "777"},
       {"Astana", "Almaty", "Shymkent", "Karaganda"},
       {"kk", "ru", "en"},
       cascHours,
       cisBases,
       "General Prosecutor's Office of the Republic of Kazakhstan",
       "General Prosecutor's Office of the Republic of Kazakhstan",
       "Ministry of Internal Affairs of the Republic of Kazakhstan",
       "Supreme Court of the Republic of Kazakhstan",
       "Ministry of Labour and Social Protection of the Population of the Republic of Kazakhstan",
       Script::CyrKk,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Данияр", "Серік",     "Нұрлан", "Ерлан",  "Асхат", "Бауыржан", "Ерболат",
        "Мұрат",  "Дәурен",    "Қайрат", "Арман",  "Ерік",  "Жандос",   "Талғат",
        "Әлібек", "Нұрсұлтан", "Ержан",  "Дархан", "Ғалым", "Бекзат"},
       {"Айгерім", "Гүлнара", "Меруерт", "Динара", "Жанар",  "Аружан", "Салтанат",
        "Гүлмира", "Ақмарал", "Толқын",  "Сәуле",  "Назым",  "Жұлдыз", "Әсел",
        "Мадина",  "Ботагөз", "Дана",    "Камила", "Ләззат", "Айжан"},
       {"Жақсылықов",    "Беков",       "Омаров",      "Түлегенов",     "Нұрланов",
        "Сейітов",       "Әбенов",      "Қасымов",     "Оспанов",       "Ахметов",
        "Серікбаев",     "Жұмабаев",    "Сәрсенбаев",  "Есенов",        "Мұхамеджанов",
        "Байжанов",      "Тоқтаров",    "Әлиев",       "Иманғалиев",    "Смағұлов",
        "Қуанышев",      "Бақытжанов",  "Мұсабаев",    "Ержанов",       "Исабеков",
        "Құдайбергенов", "Төлеубаев",   "Жанұзақов",   "Садуақасов",    "Нұрмағамбетов",
        "Абдрахманов",   "Кенжебаев",   "Мамыров",     "Бектұров",      "Сұлтанов",
        "Тұрсынов",      "Үсенов",      "Шәріпов",     "Ермеков",       "Қалиев",
        "Дүйсенов",      "Айтжанов",    "Тәжібаев",    "Рахымов",       "Сыздықов",
        "Өтегенов",      "Байділдаев",  "Жолдасбеков", "Ибраев",        "Қожахметов",
        "Амангелдиев",   "Мырзахметов", "Сапаров",     "Бекмұхамбетов", "Ғабдуллин",
        "Әміров",        "Нұрпейісов",  "Елеусізов",   "Құрманов",      "Бейсенов"}});
  c.push_back(
      {"KG",
       casc,
       "Asia/Bishkek",
       "996",
       {"312", "3222", "3722"},
       {"700", "555", "770"},
       {"Bishkek", "Osh", "Jalal-Abad", "Karakol"},
       {"ky", "ru", "en"},
       cascHours,
       cisBases,
       "General Prosecutor's Office of the Kyrgyz Republic",
       "General Prosecutor's Office of the Kyrgyz Republic",
       "Ministry of Internal Affairs of the Kyrgyz Republic",
       "Supreme Court of the Kyrgyz Republic",
       "Ministry of Labour, Social Security and Migration of the Kyrgyz Republic",
       Script::CyrKy,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Айбек", "Бакыт",  "Эрмек",  "Нурлан", "Азамат",   "Бектур",  "Талант",
        "Улан",  "Канат",  "Алмаз",  "Мирлан", "Чыңгыз",   "Жоомарт", "Эрлан",
        "Тимур", "Данияр", "Нурбек", "Адилет", "Темирлан", "Медер"},
       {"Нургүл", "Чынара",  "Айгүл",   "Жылдыз",  "Гүлнара", "Айпери",  "Бермет",
        "Асель",  "Назгүл",  "Мээрим",  "Айжан",   "Динара",  "Элмира",  "Салтанат",
        "Замира", "Бегимай", "Каныкей", "Айсулуу", "Гүлзат",  "Бактыгүл"},
       {"Садыков",     "Кудаяров",    "Асанов",     "Токтогулов", "Абдырахманов", "Жумабеков",
        "Осмонов",     "Мамытов",     "Исаков",     "Бакиров",    "Алымкулов",    "Турдубаев",
        "Сатыбалдиев", "Эсенгулов",   "Калыков",    "Шаршеев",    "Бейшеналиев",  "Дуйшеев",
        "Жээнбеков",   "Акматов",     "Маматов",    "Токтосунов", "Сыдыков",      "Абдиев",
        "Жусупов",     "Орозбеков",   "Кадыров",    "Мырзабеков", "Байтиков",     "Чолпонбаев",
        "Мамбетов",    "Аманкулов",   "Эркинбаев",  "Сулайманов", "Токоев",       "Тыныбеков",
        "Айдаров",     "Кубатбеков",  "Болотбеков", "Усенов",     "Бекболотов",   "Султанов",
        "Маликов",     "Нуралиев",    "Исмаилов",   "Кочкоров",   "Төлөгөнов",    "Үсөнбаев",
        "Өмүрбеков",   "Жолдошев",    "Ташиев",     "Аскаров",    "Курманов",     "Досалиев",
        "Мурзаев",     "Абылкасымов", "Эшимов",     "Сагынбаев",  "Темиров",      "Канатбеков"}});
  c.push_back(
      {"TJ",
       casc,
       "Asia/Dushanbe",
       "992",
       {"37", "3422", "3222"},
       {"93", "90", "918"},
       {"Dushanbe", "Khujand", "Bokhtar", "Kulob"},
       {"tg", "ru", "en"},
       cascHours,
       cisBases,
       "General Prosecutor's Office of the Republic of Tajikistan",
       "General Prosecutor's Office of the Republic of Tajikistan",
       "Ministry of Internal Affairs of the Republic of Tajikistan",
       "Supreme Court of the Republic of Tajikistan",
       "Ministry of Labour, Migration and Employment of the Republic of Tajikistan",
       Script::CyrTg,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Фаррух", "Шавкат", "Фирдавс", "Рустам", "Зафар",   "Баҳодур", "Умед",
        "Ҷамшед", "Суҳроб", "Далер",   "Исмоил", "Фаридун", "Меҳроҷ",  "Парвиз",
        "Сино",   "Алишер", "Хуршед",  "Комрон", "Илҳом",   "Акмал"},
       {"Мавҷуда",   "Зарина", "Нигина",  "Шаҳло",     "Малика",  "Гулнора", "Фарзона",
        "Дилором",   "Мадина", "Нилуфар", "Меҳрангез", "Сабоҳат", "Таҳмина", "Парвина",
        "Гулрухсор", "Зулфия", "Рухшона", "Манижа",    "Нозанин", "Фотима"},
       {"Раҳимов",    "Назаров",  "Каримов",  "Саидов",    "Шарипов", "Раҳмонов", "Юсуфов",
        "Ҳакимов",    "Мирзоев",  "Давлатов", "Ашуров",    "Холов",   "Қурбонов", "Сафаров",
        "Шоев",       "Одинаев",  "Набиев",   "Зиёев",     "Ғафуров", "Ҷалилов",  "Абдуллоев",
        "Исмоилов",   "Маҳмудов", "Умаров",   "Тоҷиев",    "Бобоев",  "Ҳусейнов", "Қодиров",
        "Файзуллоев", "Назриев",  "Ҳасанов",  "Муродов",   "Шамсиев", "Олимов",   "Эмомов",
        "Нуриддинов", "Ризоев",   "Сатторов", "Қосимов",   "Раҷабов", "Азизов",   "Салимов",
        "Амиров",     "Хоҷаев",   "Ҳайдаров", "Бурҳонов",  "Валиев",  "Султонов", "Иброҳимов",
        "Латипов",    "Мақсудов", "Наимов",   "Гадоев",    "Шукуров", "Зоиров",   "Неъматов",
        "Рустамов",   "Турсунов", "Ҷумъаев",  "Қаландаров"}});
  c.push_back({"TM",
               casc,
               "Asia/Ashgabat",
               "993",
               {"12", "322", "422"},
               {"61", "62", "65"},
               {"Ashgabat", "Turkmenabat", "Dashoguz", "Mary"},
               {"tk", "ru", "en"},
               cascHours,
               cisBasesNoChisinau,
               "Prosecutor General's Office of Turkmenistan",
               "Prosecutor General's Office of Turkmenistan",
               "Ministry of Internal Affairs of Turkmenistan",
               "Supreme Court of Turkmenistan",
               "Ministry of Labour and Social Protection of Population of Turkmenistan",
               Script::None,
               Order::GivenFamily,
               "Mr.",
               "Ms.",
               {"Batyr",     "Serdar",   "Merdan",    "Dovlet", "Myrat",       "Berdi",   "Kakajan",
                "Annamyrat", "Maksat",   "Rustam",    "Gurban", "Nurmuhammet", "Shatlyk", "Begench",
                "Yazmurat",  "Atamyrat", "Hojamyrat", "Arslan", "Dayanch",     "Guvanch"},
               {"Ogulnabat", "Maya",     "Jennet", "Gulshat",   "Aynur", "Bahar",    "Enejan",
                "Gozel",     "Leyli",    "Mahri",  "Ogulgerek", "Selbi", "Shemshat", "Tazegul",
                "Merjen",    "Aysoltan", "Ayna",   "Gulnara",   "Nabat", "Sona"},
               {"Orazov",     "Annayev",       "Berdiyev",      "Atayev",        "Charyyev",
                "Durdyyev",   "Gurbanov",      "Hojayev",       "Ishanov",       "Kakayev",
                "Meredov",    "Muradov",       "Nazarov",       "Ovezov",        "Rejepov",
                "Sahatov",    "Tagandurdyyev", "Yazkuliyev",    "Amanov",        "Babayev",
                "Bayramov",   "Chariyev",      "Garayev",       "Hudayberdiyev", "Jumayev",
                "Kurbanov",   "Mammedov",      "Nurmuhammedov", "Orazmuradov",   "Pirliyev",
                "Rahmanov",   "Saparov",       "Tachmuradov",   "Toyliyev",      "Velmuradov",
                "Yusupov",    "Agayev",        "Allaberdiyev",  "Ashirov",       "Begliyev",
                "Dovletov",   "Esenov",        "Gaygysyzov",    "Hallyyev",      "Ilyasov",
                "Jorayev",    "Kerimov",       "Myradov",       "Nobatov",       "Oraznepesov",
                "Permanov",   "Gylyjov",       "Sopiyev",       "Tuvakov",       "Usmanov",
                "Annaorazov", "Geldiyev",      "Hydyrov",       "Ovezgeldiyev",  "Shamuradov"}});
  c.push_back(
      {"UZ",
       casc,
       "Asia/Tashkent",
       "998",
       {"71", "66", "73"},
       {"90", "93", "97"},
       {"Tashkent", "Samarkand", "Namangan", "Andijan"},
       {"uz", "ru", "en"},
       cascHours,
       cisBasesNoChisinau,
       "General Prosecutor's Office of the Republic of Uzbekistan",
       "General Prosecutor's Office of the Republic of Uzbekistan",
       "Ministry of Internal Affairs of the Republic of Uzbekistan",
       "Supreme Court of the Republic of Uzbekistan",
       "Ministry of Employment and Poverty Reduction of the Republic of Uzbekistan",
       Script::None,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Jasur",  "Sherzod", "Bekzod", "Aziz",    "Rustam",   "Otabek",  "Sardor",
        "Javlon", "Ulugbek", "Farhod", "Dilshod", "Bobur",    "Jamshid", "Sanjar",
        "Timur",  "Anvar",   "Akmal",  "Nodir",   "Shukhrat", "Islom"},
       {"Dilnoza", "Gulnora", "Nilufar", "Malika",  "Zarina",  "Shahlo", "Madina",
        "Feruza",  "Kamola",  "Nodira",  "Sevara",  "Dildora", "Munisa", "Gulchehra",
        "Lola",    "Mohira",  "Umida",   "Zulfiya", "Nargiza", "Barno"},
       {"Karimov",      "Yusupov",  "Tukhtaev",    "Rakhimov",     "Abdullaev", "Ismoilov",
        "Saidov",       "Umarov",   "Toshmatov",   "Khodjaev",     "Mirzaev",   "Nazarov",
        "Sultonov",     "Azimov",   "Rashidov",    "Alimov",       "Ergashev",  "Kholmatov",
        "Juraev",       "Mamatov",  "Normatov",    "Qodirov",      "Rasulov",   "Sobirov",
        "Turgunov",     "Usmonov",  "Valiev",      "Yuldashev",    "Zokirov",   "Akhmedov",
        "Bakirov",      "Davletov", "Eshonov",     "Fayzullaev",   "Gafurov",   "Hamidov",
        "Ibragimov",    "Jalilov",  "Kamalov",     "Latipov",      "Makhmudov", "Nematov",
        "Obidov",       "Pulatov",  "Qosimov",     "Rahmatullaev", "Salimov",   "Tursunov",
        "Umarkhodjaev", "Vohidov",  "Kholmirzaev", "Yunusov",      "Zakirov",   "Abdurakhmonov",
        "Boltaev",      "Daminov",  "Haydarov",    "Inoyatov",     "Karshiev",  "Mansurov"}});
  c.push_back({"BN",
               sea,
               "Asia/Brunei",
               "673",
               {"2", "3", "4"},
               {"71", "87", "88"},
               {"Bandar Seri Begawan", "Kuala Belait", "Tutong"},
               {"ms", "en", "ru"},
               {"Mo-Th 07:45-16:30; Sa 07:45-16:30"},
               aseanBases,
               "Attorney General's Chambers, Brunei Darussalam",
               "Attorney General's Chambers, Brunei Darussalam",
               "Royal Brunei Police Force",
               "Supreme Court of Brunei Darussalam",
               "Ministry of Culture, Youth and Sports of Brunei Darussalam",
               Script::None,
               Order::Patronymic,
               "Awang",
               "Dayang",
               malayM,
               malayF,
               malayFathers});
  c.push_back(
      {"KH",
       sea,
       "Asia/Phnom_Penh",
       "855",
       {"23", "63", "53"},
       {"12", "17", "89"},
       {"Phnom Penh", "Siem Reap", "Battambang", "Sihanoukville"},
       {"km", "en", "ru"},
       seaHours,
       aseanBases,
       "General Prosecutor's Office attached to the Supreme Court of Cambodia",
       "Ministry of Justice of the Kingdom of Cambodia",
       "Cambodian National Police",
       "Supreme Court of the Kingdom of Cambodia",
       "Ministry of Social Affairs, Veterans and Youth Rehabilitation of Cambodia",
       Script::None,
       Order::FamilyGiven,
       "Mr.",
       "Ms.",
       {"Dara",      "Sophal", "Vannak",  "Rithy",  "Visal",   "Bunthoeun", "Samnang",
        "Sovann",    "Virak",  "Kosal",   "Piseth", "Ratanak", "Sokun",     "Vuthy",
        "Chamroeun", "Panha",  "Sopheak", "Makara", "Vibol",   "Narith"},
       {"Sreymom", "Sokunthea", "Chanthou", "Sophea",  "Bopha",   "Channary", "Sreyneang",
        "Kunthea", "Leakhena",  "Malis",    "Sopheap", "Theary",  "Vanna",    "Rachana",
        "Dalin",   "Pisey",     "Sothea",   "Chenda",  "Sreypov", "Navy"},
       {"Sok",  "Chea",  "Heng", "Kim",  "Ly",    "Lim",   "Meas", "Nhem",  "Ouk",   "Pen",
        "Prak", "Sam",   "Seng", "Sim",  "Tep",   "Touch", "Chan", "Chhay", "Keo",   "Khieu",
        "Long", "Mao",   "Nuon", "Pich", "Roeun", "Sar",   "Sun",  "Thach", "Uch",   "Van",
        "Yim",  "Chhim", "Hak",  "Khim", "Mom",   "Neang", "Phan", "Ros",   "Sorn",  "Svay",
        "Tan",  "Yin",   "Kong", "Chum", "Duong", "Hing",  "Kang", "Leng",  "Moeun", "Nop",
        "Oum",  "Pheng", "San",  "Soy",  "Tang",  "Vong",  "Yos",  "Em",    "Chin",  "Hem"}});
  c.push_back(
      {"ID",
       sea,
       "Asia/Jakarta",
       "62",
       {"21", "31", "61"},
       {"811", "812", "813"},
       {"Jakarta", "Surabaya", "Medan", "Batam"},
       {"id", "en", "ru"},
       seaHours,
       aseanBases,
       "Attorney General's Office of the Republic of Indonesia",
       "Ministry of Law of the Republic of Indonesia",
       "Indonesian National Police",
       "Supreme Court of the Republic of Indonesia",
       "Ministry of Social Affairs of the Republic of Indonesia",
       Script::None,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Budi",   "Agus",  "Andi", "Eko",   "Hendra", "Rudi",  "Dwi",  "Arif", "Bambang", "Fajar",
        "Gilang", "Irfan", "Joko", "Rizky", "Teguh",  "Wahyu", "Yudi", "Adi",  "Dimas",   "Hadi"},
       {"Rina",  "Sri",   "Dewi", "Siti",  "Ayu",  "Fitri", "Indah", "Lestari", "Maya", "Nur",
        "Putri", "Ratna", "Sari", "Wulan", "Yuni", "Dian",  "Intan", "Kartika", "Mega", "Novi"},
       {"Santoso",    "Kusuma",      "Wijaya",    "Saputra",    "Hidayat",     "Pratama",
        "Setiawan",   "Nugroho",     "Susanto",   "Gunawan",    "Kurniawan",   "Suryadi",
        "Siregar",    "Nasution",    "Harahap",   "Lubis",      "Simanjuntak", "Sitompul",
        "Hutapea",    "Pangaribuan", "Wibowo",    "Hartono",    "Purnomo",     "Rahardjo",
        "Sulistyo",   "Widjaja",     "Utomo",     "Prasetyo",   "Firmansyah",  "Ramadhan",
        "Syahputra",  "Hakim",       "Halim",     "Tanjung",    "Manurung",    "Silalahi",
        "Tambunan",   "Panjaitan",   "Sihombing", "Simatupang", "Sinaga",      "Situmorang",
        "Pohan",      "Daulay",      "Rangkuti",  "Batubara",   "Pardede",     "Sembiring",
        "Ginting",    "Tarigan",     "Sitepu",    "Purba",      "Damanik",     "Saragih",
        "Sinulingga", "Manik",       "Mendrofa",  "Zebua",      "Laoli",       "Halawa"}});
  c.push_back({"LA",
               sea,
               "Asia/Vientiane",
               "856",
               {"21", "71", "41"},
               {"20"},
               {"Vientiane", "Luang Prabang", "Savannakhet", "Pakse"},
               {"lo", "en", "ru"},
               seaHours,
               aseanBases,
               "Office of the Supreme People's Prosecutor of the Lao PDR",
               "Office of the Supreme People's Prosecutor of the Lao PDR",
               "Ministry of Public Security of the Lao PDR",
               "People's Supreme Court of the Lao PDR",
               "Ministry of Labour and Social Welfare of the Lao PDR",
               Script::None,
               Order::GivenFamily,
               "Mr.",
               "Ms.",
               {"Souksavanh", "Khamphone",   "Bounmy",    "Somphone",    "Vilaysack",
                "Phetsamone", "Thongchanh",  "Sengphet",  "Bounthanh",   "Xaysana",
                "Khampheng",  "Somsak",      "Anousone",  "Phouvong",    "Sisouk",
                "Bounlieng",  "Thongsavath", "Vannasone", "Chanthavong", "Khamsing"},
               {"Khamla",     "Malaythong", "Noy",      "Phonesavanh", "Souphaphone",
                "Vilayphone", "Daovone",    "Keomany",  "Manivanh",    "Chanthaly",
                "Sengdao",    "Bouavanh",   "Khamsy",   "Phetmany",    "Sisavanh",
                "Vanida",     "Latsamy",    "Somchanh", "Amphavanh",   "Viengkham"},
               {"Phommachanh", "Sayavong",      "Vongsa",        "Phommasone",   "Keomanivong",
                "Sisouphanh",  "Sengsouvanh",   "Inthavong",     "Douangchanh",  "Vongphachanh",
                "Khounnavong", "Phanthavong",   "Manivong",      "Rattanavong",  "Sayasith",
                "Phetsomphou", "Chanthalangsy", "Souvannavong",  "Thammavong",   "Vilayvong",
                "Bounmixay",   "Keovongsa",     "Luangrath",     "Sihalath",     "Xayavong",
                "Phothisane",  "Sounthala",     "Chanthavongsa", "Inthachack",   "Khamvongsa",
                "Lattana",     "Mounivong",     "Nanthavong",    "Oudomsouk",    "Phengsavanh",
                "Rasaphone",   "Saysana",       "Thepphavong",   "Vannavong",    "Xaysomphou",
                "Bouphavanh",  "Douangmala",    "Keovilay",      "Manisouk",     "Norasing",
                "Phimmasone",  "Sengdara",      "Sinthavong",    "Soukhaseum",   "Thongsavanh",
                "Vongkhamsao", "Xaiyavong",     "Chounlamany",   "Insixiengmay", "Khamphoui",
                "Luangsay",    "Pathammavong",  "Phomvihane",    "Saignavong",   "Vorasane"}});
  c.push_back({"MY",
               sea,
               "Asia/Kuala_Lumpur",
               "60",
               {"3", "4", "7"},
               {"12", "13", "19"},
               {"Putrajaya", "Kuala Lumpur", "Johor Bahru", "Kota Kinabalu", "Penang"},
               {"ms", "en", "ru"},
               seaHours,
               aseanBases,
               "Attorney General's Chambers of Malaysia",
               "Attorney General's Chambers of Malaysia",
               "Royal Malaysia Police",
               "Federal Court of Malaysia",
               "Department of Social Welfare Malaysia",
               Script::None,
               Order::Patronymic,
               "Encik",
               "Puan",
               malayM,
               malayF,
               malayFathers});
  c.push_back({"MM",
               sea,
               "Asia/Yangon",
               "95",
               {"1", "67", "2"},
               {"9"},
               {"Nay Pyi Taw", "Yangon", "Mandalay", "Myawaddy"},
               {"my", "en", "ru"},
               {"Mo-Fr 09:30-16:30"},
               aseanBases,
               "Union Attorney General's Office",
               "Union Attorney General's Office",
               "Myanmar Police Force",
               "Supreme Court of the Union",
               "Department of Social Welfare",
               Script::None,
               Order::GivenFamily,
               "U",
               "Daw",
               {"Kyaw", "Aung", "Zaw", "Min",   "Thant", "Htet", "Ye",   "Naing", "Soe",   "Tun",
                "Myo",  "Hein", "Win", "Thura", "Ko",    "Nay",  "Phyo", "Wai",   "Khant", "Sithu"},
               {"Khin", "Thandar", "Su",  "Hnin", "May",    "Ei",  "Aye", "Thida", "Nwe",   "Yin",
                "Moe",  "Phyu",    "Wut", "Zin",  "Nandar", "Hla", "Cho", "Myat",  "Thiri", "Shwe"},
               {"Zin Htet",    "Min Aung",  "Myo Win",    "Thu Aung",   "Htet Naing", "Lin Htut",
                "Ko Ko",       "Zaw Oo",    "Kyaw Soe",   "Aung Myint", "Thant Zin",  "Min Thu",
                "Naing Win",   "Hlaing",    "Oo",         "Tun Tun",    "Myint Myat", "Phyo Wai",
                "Soe Win",     "Htoo",      "Thu Zar",    "Mon",        "Lwin",       "Myat Thu",
                "Nandar Aung", "Pyae Sone", "Wai Yan",    "Ye Lin",     "Si Thu",     "Khant Naing",
                "Zaw Win",     "Hein Htet", "Kaung Myat", "Min Khant",  "Thet Paing", "Yan Naing",
                "Aung Thu",    "Htun",      "Maung",      "Nyein",      "Thein",      "Win Naing",
                "Zaw Min",     "Aung Kyaw", "Kyaw Zin",   "Myo Min",    "Thura Aung", "Tin",
                "Hla Myint",   "Soe Moe",   "Myint",      "Lin",        "Htay",       "Naing Oo",
                "Tun Lin",     "Kyi",       "Aye Chan",   "Mya",        "Thaw",       "Hnin Wai"}});
  c.push_back(
      {"PH",
       sea,
       "Asia/Manila",
       "63",
       {"2", "32", "82"},
       {"917", "918", "927"},
       {"Manila", "Quezon City", "Cebu City", "Davao City"},
       {"fil", "en", "ru"},
       seaHours,
       aseanBases,
       "National Prosecution Service, Department of Justice",
       "Department of Justice of the Philippines",
       "Philippine National Police",
       "Regional Trial Court",
       "Department of Social Welfare and Development",
       Script::None,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Jose",   "Juan",    "Mark",    "John Paul", "Ramon",   "Carlo", "Miguel",
        "Rafael", "Antonio", "Eduardo", "Francis",   "Gabriel", "Joel",  "Manuel",
        "Rodel",  "Ricardo", "Arnel",   "Jerome",    "Noel",    "Dennis"},
       {"Maria",    "Ana",    "Cristina", "Jasmine", "Rosario", "Mary Grace", "Kristine",
        "Angelica", "Liza",   "Maricel",  "Rowena",  "Shiela",  "Joanna",     "Camille",
        "Patricia", "Teresa", "Lorna",    "Divina",  "Marites", "Jocelyn"},
       {"Dela Cruz",   "Reyes",        "Santos",       "Garcia",    "Mendoza",  "Bautista",
        "Villanueva",  "Ramos",        "Aquino",       "Castillo",  "Flores",   "Gonzales",
        "Lopez",       "Torres",       "Rivera",       "Fernandez", "Navarro",  "Dizon",
        "Domingo",     "Pascual",      "Manalo",       "Salazar",   "Soriano",  "Tolentino",
        "Valdez",      "Cruz",         "Santiago",     "Mercado",   "Aguilar",  "Panganiban",
        "Macaraeg",    "Dimaculangan", "Buenaventura", "Lacson",    "Magbanua", "Evangelista",
        "Del Rosario", "De Guzman",    "Gatchalian",   "Sison",     "Robles",   "Ocampo",
        "Padilla",     "Quiambao",     "Samonte",      "Tan",       "Uy",       "Yap",
        "Concepcion",  "Cabrera",      "Marquez",      "Lazaro",    "Estrada",  "Medina",
        "Natividad",   "Pineda",       "Roxas",        "Serrano",   "Vergara",  "Zamora"}});
  c.push_back(
      {"TH",
       sea,
       "Asia/Bangkok",
       "66",
       {"2", "53", "74"},
       {"81", "86", "89"},
       {"Bangkok", "Chiang Mai", "Songkhla", "Chon Buri", "Mae Sot"},
       {"th", "en", "ru"},
       {"Mo-Fr 08:30-16:30", "Mo-Fr 08:30-16:30", "Mo-Fr 09:00-17:00"},
       aseanBases,
       "Office of the Attorney General of Thailand",
       "Office of the Attorney General of Thailand",
       "Royal Thai Police",
       "Supreme Court of Thailand",
       "Ministry of Social Development and Human Security of Thailand",
       Script::None,
       Order::GivenFamily,
       "Mr.",
       "Ms.",
       {"Somchai",   "Kittipong", "Anuchit",   "Prasert", "Wichai",   "Sakda",    "Thanakorn",
        "Chatchai",  "Nattapong", "Pongsak",   "Surasak", "Teerapat", "Apichart", "Krit",
        "Phongphat", "Sombat",    "Wuttichai", "Yuttana", "Narong",   "Chaiwat"},
       {"Pimchanok", "Siriporn",  "Supaporn", "Nattaya",  "Kanokwan", "Wanida",  "Ratchanee",
        "Pornthip",  "Sasithorn", "Jiraporn", "Duangjai", "Orathai",  "Malee",   "Naree",
        "Chanya",    "Kulap",     "Ploy",     "Arunee",   "Tippawan", "Waraporn"},
       {"Srisawat",   "Chaiyaporn", "Thongdee",   "Wongsuwan",    "Saetang",   "Rattanakul",
        "Boonmee",    "Sukprasert", "Chaiyasit",  "Phromphan",    "Kaewkla",   "Saengthong",
        "Sirisombat", "Thanawat",   "Wattanasin", "Chantarasiri", "Inthara",   "Jaidee",
        "Kongkaew",   "Limsakul",   "Manee",      "Nakprasit",    "Ounkaew",   "Phanthong",
        "Rungruang",  "Suwannarat", "Tangsiri",   "Udomsak",      "Viriyakul", "Yodying",
        "Anantachai", "Boonsong",   "Charoensuk", "Detchai",      "Eiamsaard", "Hongthong",
        "Intarasuk",  "Jantakhot",  "Khamwong",   "Lertsiri",     "Meesuk",    "Nilsuwan",
        "Ongart",     "Panyasiri",  "Ruangrit",   "Somboon",      "Thepsiri",  "Uthaiwan",
        "Wisetsak",   "Yimyam",     "Bunyasiri",  "Chokchai",     "Kittisak",  "Petchsri",
        "Sangsawang", "Thammasak",  "Wongchai",   "Pattanapong",  "Srisuk",    "Kasemsuk"}});
  c.push_back(
      {"VN",
       sea,
       "Asia/Ho_Chi_Minh",
       "84",
       {"24", "28", "236"},
       {"90", "91", "98"},
       {"Ha Noi", "Ho Chi Minh City", "Da Nang", "Lao Cai"},
       {"vi", "en", "ru"},
       seaHours,
       aseanBases,
       "Supreme People's Procuracy of Viet Nam",
       "Supreme People's Procuracy of Viet Nam",
       "Ministry of Public Security of Viet Nam",
       "Supreme People's Court of Viet Nam",
       "Ministry of Labour, Invalids and Social Affairs of Viet Nam",
       Script::None,
       Order::FamilyGiven,
       "Mr.",
       "Ms.",
       {"Van Minh",  "Van Hung",   "Duc Anh",     "Quoc Bao",  "Minh Tuan",
        "Van Thanh", "Huu Phuoc",  "Thanh Long",  "Van Nam",   "Dinh Khoa",
        "Quang Huy", "Tien Dat",   "Manh Hung",   "Van Tai",   "Cong Vinh",
        "Hoang Nam", "Trung Kien", "Xuan Truong", "Duc Thang", "Minh Khang"},
       {"Thi Thu Ha", "Thi Lan",     "Thi Mai",    "Thi Hoa",   "Thi Huong",
        "Ngoc Anh",   "Thu Trang",   "Thi Hanh",   "Minh Chau", "Thanh Huyen",
        "Thi Ngoc",   "Phuong Linh", "Thi Thao",   "Kim Ngan",  "Thi Dung",
        "Bich Ngoc",  "Thi Yen",     "Hong Nhung", "Thi Hien",  "Khanh Linh"},
       {"Nguyen", "Tran",  "Le",    "Pham",  "Hoang", "Huynh", "Phan", "Vu",    "Vo",     "Dang",
        "Bui",    "Do",    "Ho",    "Ngo",   "Duong", "Ly",    "Dinh", "Trinh", "Truong", "Mai",
        "Lam",    "Cao",   "Ta",    "Luu",   "Quach", "Chu",   "Doan", "Luong", "Ha",     "Kieu",
        "Thai",   "Ton",   "Vuong", "Phung", "Tang",  "Khuc",  "Lai",  "Mac",   "Nghiem", "Ong",
        "Quan",   "Thach", "Trieu", "Giang", "Khong", "Lieu",  "Nong", "Au",    "Diep",   "Tieu"}});
  return c;
}

// ---------------------------------------------------------------------------
// Transliteration of the pools (done once at start-up, never per record)

char32_t decodeOne(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += static_cast<std::size_t>(len);
  return cp;
}

std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) out.push_back(decodeOne(s, i));
  return out;
}

struct Letter {
  const char* lower;  // the letter in the source script (lower case)
  const char* upper;  // its upper case, or "" for a caseless script
  const char* latin;
};

// ICAO Doc 9303 style (as in Kyrgyz and Kazakh passports), plus the letters of
// Kyrgyz, Kazakh and Tajik.
const std::vector<Letter>& cyrillicTable() {
  static const std::vector<Letter> t = {
      {"а", "А", "a"},  {"б", "Б", "b"},    {"в", "В", "v"},  {"г", "Г", "g"},  {"д", "Д", "d"},
      {"е", "Е", "e"},  {"ё", "Ё", "e"},    {"ж", "Ж", "zh"}, {"з", "З", "z"},  {"и", "И", "i"},
      {"й", "Й", "i"},  {"к", "К", "k"},    {"л", "Л", "l"},  {"м", "М", "m"},  {"н", "Н", "n"},
      {"о", "О", "o"},  {"п", "П", "p"},    {"р", "Р", "r"},  {"с", "С", "s"},  {"т", "Т", "t"},
      {"у", "У", "u"},  {"ф", "Ф", "f"},    {"х", "Х", "kh"}, {"ц", "Ц", "ts"}, {"ч", "Ч", "ch"},
      {"ш", "Ш", "sh"}, {"щ", "Щ", "shch"}, {"ъ", "Ъ", "ie"}, {"ы", "Ы", "y"},  {"ь", "Ь", ""},
      {"э", "Э", "e"},  {"ю", "Ю", "iu"},   {"я", "Я", "ia"}, {"ғ", "Ғ", "g"},  {"қ", "Қ", "k"},
      {"ң", "Ң", "ng"}, {"ө", "Ө", "o"},    {"ұ", "Ұ", "u"},  {"ү", "Ү", "u"},  {"һ", "Һ", "h"},
      {"і", "І", "i"},  {"ә", "Ә", "a"},    {"ӣ", "Ӣ", "i"},  {"ӯ", "Ӯ", "u"},  {"ҳ", "Ҳ", "h"},
      {"ҷ", "Ҷ", "j"}};
  return t;
}

// Tajik names are usually romanised with y-forms and these letters.
const std::vector<Letter>& tajikOverrides() {
  static const std::vector<Letter> t = {{"ғ", "Ғ", "gh"}, {"қ", "Қ", "q"},  {"ё", "Ё", "yo"},
                                        {"ю", "Ю", "yu"}, {"я", "Я", "ya"}, {"й", "Й", "y"},
                                        {"ъ", "Ъ", ""}};
  return t;
}

const std::vector<Letter>& armenianTable() {
  static const std::vector<Letter> t = {
      {"ա", "Ա", "a"}, {"բ", "Բ", "b"},  {"գ", "Գ", "g"},  {"դ", "Դ", "d"},  {"ե", "Ե", "e"},
      {"զ", "Զ", "z"}, {"է", "Է", "e"},  {"ը", "Ը", "y"},  {"թ", "Թ", "t"},  {"ժ", "Ժ", "zh"},
      {"ի", "Ի", "i"}, {"լ", "Լ", "l"},  {"խ", "Խ", "kh"}, {"ծ", "Ծ", "ts"}, {"կ", "Կ", "k"},
      {"հ", "Հ", "h"}, {"ձ", "Ձ", "dz"}, {"ղ", "Ղ", "gh"}, {"ճ", "Ճ", "ch"}, {"մ", "Մ", "m"},
      {"յ", "Յ", "y"}, {"ն", "Ն", "n"},  {"շ", "Շ", "sh"}, {"ո", "Ո", "o"},  {"չ", "Չ", "ch"},
      {"պ", "Պ", "p"}, {"ջ", "Ջ", "j"},  {"ռ", "Ռ", "r"},  {"ս", "Ս", "s"},  {"վ", "Վ", "v"},
      {"տ", "Տ", "t"}, {"ր", "Ր", "r"},  {"ց", "Ց", "ts"}, {"ւ", "Ւ", "v"},  {"փ", "Փ", "p"},
      {"ք", "Ք", "k"}, {"օ", "Օ", "o"},  {"ֆ", "Ֆ", "f"},  {"և", "", "ev"}};
  return t;
}

const std::vector<Letter>& georgianTable() {
  static const std::vector<Letter> t = {
      {"ა", "", "a"},  {"ბ", "", "b"},  {"გ", "", "g"},  {"დ", "", "d"},  {"ე", "", "e"},
      {"ვ", "", "v"},  {"ზ", "", "z"},  {"თ", "", "t"},  {"ი", "", "i"},  {"კ", "", "k"},
      {"ლ", "", "l"},  {"მ", "", "m"},  {"ნ", "", "n"},  {"ო", "", "o"},  {"პ", "", "p"},
      {"ჟ", "", "zh"}, {"რ", "", "r"},  {"ს", "", "s"},  {"ტ", "", "t"},  {"უ", "", "u"},
      {"ფ", "", "p"},  {"ქ", "", "k"},  {"ღ", "", "gh"}, {"ყ", "", "q"},  {"შ", "", "sh"},
      {"ჩ", "", "ch"}, {"ც", "", "ts"}, {"ძ", "", "dz"}, {"წ", "", "ts"}, {"ჭ", "", "ch"},
      {"ხ", "", "kh"}, {"ჯ", "", "j"},  {"ჰ", "", "h"}};
  return t;
}

// Azerbaijani Latin to plain ASCII, as names appear in English-language documents.
const std::vector<Letter>& azerbaijaniTable() {
  static const std::vector<Letter> t = {{"ə", "Ə", "a"},  {"ş", "Ş", "sh"}, {"ç", "Ç", "ch"},
                                        {"ğ", "Ğ", "gh"}, {"ı", "I", "i"},  {"i", "İ", "i"},
                                        {"ö", "Ö", "o"},  {"ü", "Ü", "u"},  {"x", "X", "kh"},
                                        {"c", "C", "j"},  {"q", "Q", "g"},  {"j", "J", "zh"}};
  return t;
}

struct Translit {
  std::vector<std::pair<char32_t, std::string>> lower, upper;
  void add(const std::vector<Letter>& letters) {
    for (const auto& l : letters) {
      set(lower, decode(l.lower).at(0), l.latin);
      if (*l.upper) set(upper, decode(l.upper).at(0), l.latin);
    }
  }
  static void set(std::vector<std::pair<char32_t, std::string>>& v, char32_t cp,
                  const std::string& s) {
    for (auto& e : v)
      if (e.first == cp) {
        e.second = s;
        return;
      }
    v.emplace_back(cp, s);
  }
  std::string operator()(std::string_view in) const {
    std::string out;
    std::vector<char32_t> cps = decode(in);
    for (std::size_t i = 0; i < cps.size(); ++i) {
      const char32_t cp = cps[i];
      const bool wordStart = i == 0 || cps[i - 1] == U' ' || cps[i - 1] == U'-';
      std::string piece;
      bool capital = false;
      bool found = false;
      for (const auto& e : lower)
        if (e.first == cp) {
          piece = e.second;
          found = true;
          break;
        }
      if (!found)
        for (const auto& e : upper)
          if (e.first == cp) {
            piece = e.second;
            capital = true;
            found = true;
            break;
          }
      if (!found) {
        if (cp < 0x80) {
          out.push_back(static_cast<char>(cp));
          continue;
        }
        piece = "?";  // not reached with the pools above (checked at start-up)
      }
      // Armenian: "ու" is u; word-initial ե is ye and ո is vo.
      if (cp == 0x0578 || cp == 0x0548) {
        if (i + 1 < cps.size() && cps[i + 1] == 0x0582) {
          piece = "u";
          ++i;
        } else if (wordStart) {
          piece = "vo";
        }
      }
      if ((cp == 0x0565 || cp == 0x0535) && wordStart) piece = "ye";
      // Cyrillic ң before г/к/қ: "Чыңгыз" is Chyngyz, not Chynggyz.
      if ((cp == 0x04A3 || cp == 0x04A2) && i + 1 < cps.size() &&
          (cps[i + 1] == 0x0433 || cps[i + 1] == 0x043A || cps[i + 1] == 0x049B))
        piece = "n";
      // Georgian has no case: capitalise the first letter of a word.
      if (cp >= 0x10D0 && cp <= 0x10F0 && wordStart) capital = true;
      if (capital && !piece.empty()) piece[0] = static_cast<char>(piece[0] - 'a' + 'A');
      out += piece;
    }
    return out;
  }
};

Translit makeTranslit(Script s) {
  Translit t;
  switch (s) {
    case Script::CyrKy:
    case Script::CyrKk:
      t.add(cyrillicTable());
      break;
    case Script::CyrTg:
      t.add(cyrillicTable());
      t.add(tajikOverrides());
      break;
    case Script::Armenian:
      t.add(armenianTable());
      break;
    case Script::Georgian:
      t.add(georgianTable());
      break;
    case Script::AzLatin:
      t.add(azerbaijaniTable());
      break;
    case Script::None:
      break;
  }
  return t;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Feminine form of a family name in the countries whose family names have one
// (Russian-style -ov/-ev/-in take -a); Armenian, Georgian and the South-East Asian
// names have none.
std::string feminine(std::string_view family, const CountryDef& d) {
  static constexpr std::array<std::string_view, 6> suffixes = {"ов", "ев", "ин", "ov", "ev", "in"};
  const Script script = d.script;
  if (std::strcmp(d.network, "CASC") != 0 || script == Script::Armenian ||
      script == Script::Georgian)
    return std::string(family);
  for (auto suf : suffixes)
    if (endsWith(family, suf)) {
      if (script == Script::None || script == Script::AzLatin) return std::string(family) + "a";
      return std::string(family) + (suf[0] & 0x80 ? "а" : "a");
    }
  return std::string(family);
}

std::string slug(std::string_view latin) {
  std::string s;
  for (char ch : latin) {
    if (ch >= 'A' && ch <= 'Z')
      s.push_back(static_cast<char>(ch - 'A' + 'a'));
    else if (ch >= 'a' && ch <= 'z')
      s.push_back(ch);
  }
  return s;
}

struct Person {
  std::string latin, original;  // original empty when the pool is Latin only
  std::string slug;             // for e-mail addresses
};

struct Country {
  const CountryDef* def;
  std::vector<Person> givenM, givenF;
  std::vector<Person> familyM, familyF;
  std::string lower;                  // "kg"
  std::string domain;                 // "example.kg"
  std::string verifiedBy;             // "CASC secretariat"
  std::vector<const char*> roleOrgs;  // organisation per role
};

Person makePerson(const char* src, Script script, const Translit& t) {
  Person p;
  if (script == Script::None) {
    p.latin = src;
  } else {
    p.original = src;
    p.latin = t(src);
  }
  p.slug = slug(p.latin);
  return p;
}

Country prepare(const CountryDef& d, bool& ok) {
  Country c;
  c.def = &d;
  const Translit t = makeTranslit(d.script);
  for (auto g : d.givenM) c.givenM.push_back(makePerson(g, d.script, t));
  for (auto g : d.givenF) c.givenF.push_back(makePerson(g, d.script, t));
  for (auto f : d.family) {
    c.familyM.push_back(makePerson(f, d.script, t));
    const std::string fem = feminine(f, d);
    c.familyF.push_back(makePerson(fem.c_str(), d.script, t));
  }
  for (const auto* pool : {&c.givenM, &c.givenF, &c.familyM, &c.familyF})
    for (const auto& p : *pool)
      if (p.latin.find('?') != std::string::npos || p.slug.empty()) ok = false;
  c.lower = slug(d.code);
  c.domain = "example." + c.lower;
  c.verifiedBy = std::string(d.network) + " secretariat";
  c.roleOrgs = {d.prosecution,
                d.justice,
                d.police,
                d.police,
                d.court,
                d.police,
                d.prosecution,
                d.social,
                std::strcmp(d.network, "CASC") == 0 ? "CASC Network Secretariat"
                                                    : "SEAJust Network Secretariat"};
  return c;
}

// ---------------------------------------------------------------------------
// Random numbers: mt19937_64 with our own unbiased mapping.

struct Rng {
  std::mt19937_64 g;
  explicit Rng(std::uint64_t seed) : g(seed) {}
  // Uniform in [0, n), n > 0: reject the low 2^64 mod n values.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t x = g();
      if (x >= threshold) return x % n;
    }
  }
  std::size_t index(std::size_t n) { return static_cast<std::size_t>(below(n)); }
  std::size_t between(std::size_t lo, std::size_t hi) { return lo + index(hi - lo + 1); }
  bool percent(unsigned p) { return below(100) < p; }
  // k distinct indices out of n (n <= 16), in ascending order.
  std::size_t pick(std::size_t n, std::size_t k, std::size_t* out) {
    std::array<std::size_t, 16> idx{};
    for (std::size_t i = 0; i < n; ++i) idx[i] = i;
    k = std::min(k, n);
    for (std::size_t i = 0; i < k; ++i) std::swap(idx[i], idx[i + index(n - i)]);
    std::sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k));
    std::copy_n(idx.begin(), k, out);
    return k;
  }
};

// ---------------------------------------------------------------------------
// Dates (proleptic Gregorian, days since 1970-01-01; H. Hinnant's algorithms)

long daysFromCivil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long>(doe) - 719468;
}

void civilFromDays(long z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe) + static_cast<int>(era * 400) + (m <= 2);
}

// YYYY-MM-DD for years 0..9999 (ours are 2024..2027); buf holds 11 bytes.
void formatDate(int y, unsigned m, unsigned d, char* buf) {
  const unsigned yy = static_cast<unsigned>(y) % 10000;
  buf[0] = static_cast<char>('0' + yy / 1000);
  buf[1] = static_cast<char>('0' + yy / 100 % 10);
  buf[2] = static_cast<char>('0' + yy / 10 % 10);
  buf[3] = static_cast<char>('0' + yy % 10);
  buf[4] = '-';
  buf[5] = static_cast<char>('0' + m / 10 % 10);
  buf[6] = static_cast<char>('0' + m % 10);
  buf[7] = '-';
  buf[8] = static_cast<char>('0' + d / 10 % 10);
  buf[9] = static_cast<char>('0' + d % 10);
  buf[10] = '\0';
}

// ---------------------------------------------------------------------------
// JSON output. Records are written straight into one buffer, keys in the order
// of DESIGN.md; no per-record document tree. Strings are escaped per RFC 8259
// (the pools hold valid UTF-8, which is written as it is).

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void begin(char open) {
    comma();
    out_ += open;
    first_[++depth_] = true;
  }
  void end(char close) {
    out_ += close;
    --depth_;
  }
  Writer& key(std::string_view k) {
    comma();
    out_ += '"';
    out_ += k;  // keys are our own identifiers: nothing to escape
    out_ += "\":";
    pendingValue_ = true;
    return *this;
  }
  void str(std::string_view v) {
    comma();
    out_ += '"';
    std::size_t run = 0;  // start of the pending run of bytes that need no escape
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto u = static_cast<unsigned char>(v[i]);
      if (u >= 0x20 && u != '"' && u != '\\') continue;
      out_.append(v.data() + run, i - run);
      run = i + 1;
      if (u >= 0x20) {
        out_ += '\\';
        out_ += v[i];
      } else {
        static constexpr char hex[] = "0123456789abcdef";
        out_ += "\\u00";
        out_ += hex[u >> 4];
        out_ += hex[u & 15];
      }
    }
    out_.append(v.data() + run, v.size() - run);
    out_ += '"';
  }
  void num(std::uint64_t v) {
    comma();
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out_.append(buf, p);
  }
  void boolean(bool v) {
    comma();
    out_ += v ? "true" : "false";
  }
  void field(std::string_view k, std::string_view v) { key(k).str(v); }

 private:
  void comma() {
    if (pendingValue_) {  // value right after its key
      pendingValue_ = false;
      return;
    }
    if (!first_[depth_]) out_ += ',';
    first_[depth_] = false;
  }
  std::string& out_;
  std::array<bool, 8> first_{true};
  int depth_ = 0;
  bool pendingValue_ = false;
};

// ---------------------------------------------------------------------------
// Record generation

struct Options {
  std::uint64_t count = 0;
  bool haveCount = false;
  std::uint64_t seed = 1;
  std::uint64_t first = 1;  // number of the first record (ids gen-<cc>-<n>)
  std::vector<std::string> countries;
  std::string out;
};

// "+996 312 000 123": the real calling code, then an obviously fictitious 000 block.
void phone(std::string& s, const CountryDef& d, const char* area, Rng& rng) {
  s.clear();
  s += '+';
  s += d.dial;
  s += ' ';
  s += area;
  s += " 000 ";
  char buf[8];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, 100 + rng.index(900));
  (void)ec;
  s.append(buf, p);
}

class Generator {
 public:
  Generator(std::vector<Country> countries, std::uint64_t seed)
      : countries_(std::move(countries)), rng_(seed) {
    first_ = daysFromCivil(2024, 1, 1);
    span_ = daysFromCivil(2026, 11, 28) - first_ + 1;
  }

  // Appends record number n (1-based) and a newline to out.
  void next(std::uint64_t n, std::string& out) {
    const Country& c = countries_[rng_.index(countries_.size())];
    const CountryDef& d = *c.def;
    const std::size_t role = rng_.index(kRoles.size());

    // contactKind: secretariats are authorities; otherwise mostly people.
    const char* kind = "person";
    const auto k = static_cast<unsigned>(rng_.below(100));
    if (role != 8 && k < 10) {
      kind = "desk";
    } else if (role == 8 || k < 14) {
      kind = "authority";
    }
    const bool person = kind[0] == 'p';
    const std::size_t loc = rng_.percent(60) ? 0 : rng_.index(d.localities.size());

    Writer w(out);
    w.begin('{');
    w.field("kind", "contact");
    id_.assign("gen-").append(c.lower).append("-").append(std::to_string(n));
    w.field("id", id_);
    w.key("revision").num(1);
    w.field("status", "active");
    w.field("contactKind", kind);

    // name
    w.key("name").begin('{');
    if (person) {
      const bool female = rng_.percent(50);
      const Person& g =
          female ? c.givenF[rng_.index(c.givenF.size())] : c.givenM[rng_.index(c.givenM.size())];
      const std::size_t fi = rng_.index(c.familyM.size());
      const Person& f = female ? c.familyF[fi] : c.familyM[fi];
      switch (d.order) {
        case Order::GivenFamily:
          name_.assign(g.latin).append(" ").append(f.latin);
          break;
        case Order::FamilyGiven:
          name_.assign(f.latin).append(" ").append(g.latin);
          break;
        case Order::Patronymic:
          name_.assign(g.latin).append(female ? " binti " : " bin ").append(f.latin);
          break;
      }
      w.field("latin", name_);
      if (!g.original.empty()) {
        name_.assign(g.original).append(" ").append(f.original);
        w.field("original", name_);
      }
      w.field("honorific", female ? d.honorificF : d.honorificM);
      email_.assign(1, g.slug[0]).append(".").append(f.slug);
    } else {
      name_.assign(kind[0] == 'a' && role != 8 ? kUnits[role] : kDeskNames[role])
          .append(", ")
          .append(d.localities[loc]);
      w.field("latin", name_);
      email_.assign("desk").append(std::to_string(n));
    }
    w.end('}');
    email_.append("@").append(c.domain);

    w.field("title", person ? kTitles[role] : kDeskNames[role]);
    w.field("role", kRoles[role]);
    w.field("organization", c.roleOrgs[role]);
    w.field("unit", kUnits[role]);
    w.field("country", d.code);
    w.field("locality", d.localities[loc]);
    if (d.network[0] == 'C') w.field("body", loc == 0 ? "central" : "territorial");

    w.key("networks").begin('[');
    w.str(d.network);
    if (role == 3) w.str("INTERPOL");
    w.end(']');

    std::array<std::size_t, 16> idx{};
    w.key("competences").begin('[');
    for (std::size_t i = 0, m = rng_.pick(kCompetences.size(), rng_.between(1, 3), idx.data());
         i < m; ++i)
      w.str(kCompetences[idx[i]]);
    w.end(']');

    w.key("topics").begin('[');
    for (std::size_t i = 0, m = rng_.pick(kTopics.size(), rng_.between(1, 3), idx.data()); i < m;
         ++i)
      w.str(kTopics[idx[i]]);
    w.end(']');

    w.key("legalBases").begin('[');
    for (std::size_t i = 0, m = rng_.pick(d.bases.size(), rng_.between(1, 2), idx.data()); i < m;
         ++i)
      w.str(d.bases[idx[i]]);
    w.end(']');

    w.key("languages").begin('[');
    for (std::size_t i = 0, m = rng_.between(1, 3); i < m && i < d.langs.size(); ++i)
      w.str(d.langs[i]);
    w.end(']');

    // channels: 1-3 (a kind drawn twice is dropped), the first preferred.
    w.key("channels").begin('[');
    const std::size_t nch = rng_.between(1, 3);
    bool used[7] = {};
    bool firstChannel = true;
    for (std::size_t i = 0; i < nch; ++i) {
      // weights: email 3, phone 2, mobile 2, fax 1, secure-messaging 1, post 1
      static constexpr std::array<int, 10> menu = {0, 0, 0, 1, 1, 2, 2, 3, 4, 6};
      int kc = menu[rng_.index(menu.size())];
      if (role == 3 && i == 0) kc = 5;  // NCBs: I-24/7 first
      if (used[kc]) continue;
      used[kc] = true;
      w.begin('{');
      switch (kc) {
        case 0:
          w.field("kind", "email");
          w.field("value", email_);
          break;
        case 1:
          w.field("kind", "phone");
          phone(scratch_, d, d.areas[rng_.index(d.areas.size())], rng_);
          w.field("value", scratch_);
          w.field("note", "office");
          break;
        case 2:
          w.field("kind", "mobile");
          phone(scratch_, d, d.mobiles[rng_.index(d.mobiles.size())], rng_);
          w.field("value", scratch_);
          break;
        case 3:
          w.field("kind", "fax");
          phone(scratch_, d, d.areas[0], rng_);
          w.field("value", scratch_);
          break;
        case 4:
          w.field("kind", "secure-messaging");
          scratch_.assign("Signal ").append(email_);
          w.field("value", scratch_);
          break;
        case 5:
          w.field("kind", "i24-7");
          scratch_.assign("NCB ").append(d.localities[0]).append(" (I-24/7 message)");
          w.field("value", scratch_);
          break;
        default:
          w.field("kind", "post");
          scratch_.assign("Fictitious Street ")
              .append(std::to_string(n))
              .append(", ")
              .append(d.localities[loc]);
          w.field("value", scratch_);
          break;
      }
      if (firstChannel) w.key("preferred").boolean(true);
      firstChannel = false;
      w.end('}');
    }
    w.end(']');
    w.key("requiresEncryption").boolean(rng_.percent(15));

    w.key("availability").begin('{');
    const bool always = rng_.percent(10);
    w.key("always").boolean(always);
    w.field("timezone", d.tz);
    w.field("hours", always ? "24/7" : d.hours[rng_.index(d.hours.size())]);
    if (!always && rng_.percent(30)) {
      phone(scratch_, d, d.mobiles[rng_.index(d.mobiles.size())], rng_);
      w.field("afterHours", scratch_);
    }
    w.end('}');

    // verification: verifiedAt over 2024-01-01 .. 2026-11-28, review a year later
    int y;
    unsigned m, dd;
    civilFromDays(first_ + static_cast<long>(rng_.below(static_cast<std::uint64_t>(span_))), y, m,
                  dd);
    char at[11], due[11];
    formatDate(y, m, dd, at);
    formatDate(y + 1, m, (m == 2 && dd == 29) ? 28 : dd, due);
    w.key("verification").begin('{');
    w.field("verifiedAt", at);
    w.field("verifiedBy", c.verifiedBy);
    w.field("reviewDue", due);
    w.end('}');
    w.field("notes", "Synthetic record (liaison-gendir); not a real person or office.");
    w.end('}');
    out += '\n';
  }

 private:
  std::vector<Country> countries_;
  Rng rng_;
  long first_ = 0, span_ = 1;
  std::string id_, name_, email_, scratch_;  // reused between records
};
// ---------------------------------------------------------------------------
// Command line

[[noreturn]] void usageError(const std::string& reason) {
  std::fprintf(stderr, "liaison-gendir: %s\n", reason.c_str());
  std::exit(2);
}

constexpr const char* kUsage =
    "usage: liaison-gendir --count N [--first N] [--seed S] [--countries KG,KZ,TH,...] [--out FILE]\n"
    "Writes N synthetic contact records as JSON lines (to stdout unless --out).\n"
    "The same N, seed and countries give the same bytes. Default seed: 1.\n";

bool parseU64(std::string_view s, std::uint64_t& v) {
  if (s.empty()) return false;
  const auto* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  return ec == std::errc() && p == end;
}

Options parseArgs(int argc, char** argv) {
  Options o;
  bool haveCountries = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    std::string_view value;
    bool inlineValue = false;
    if (const auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      inlineValue = true;
    }
    const bool known = a == "--count" || a == "--seed" || a == "--countries" || a == "--out" ||
                       a == "--first";
    if (!known) usageError("unknown argument '" + std::string(a) + "' (try --help)");
    if (!inlineValue) {
      if (i + 1 >= argc) usageError(std::string(a) + " needs a value");
      value = argv[++i];
    }
    if (a == "--first") {
      if (!parseU64(value, o.first) || o.first == 0)
        usageError("--first must be a positive integer, got '" + std::string(value) + "'");
    } else if (a == "--count") {
      if (!parseU64(value, o.count))
        usageError("--count must be a non-negative integer, got '" + std::string(value) + "'");
      if (o.count > 1'000'000'000ULL) usageError("--count is limited to 1000000000");
      o.haveCount = true;
    } else if (a == "--seed") {
      if (!parseU64(value, o.seed))
        usageError("--seed must be an unsigned 64-bit integer, got '" + std::string(value) + "'");
    } else if (a == "--countries") {
      haveCountries = true;
      o.countries.clear();
      std::size_t start = 0;
      while (start <= value.size()) {
        std::size_t end = value.find(',', start);
        if (end == std::string_view::npos) end = value.size();
        std::string code(value.substr(start, end - start));
        for (auto& ch : code)
          if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        if (code.empty()) usageError("--countries has an empty entry");
        if (std::find(o.countries.begin(), o.countries.end(), code) == o.countries.end())
          o.countries.push_back(code);
        start = end + 1;
      }
    } else {
      if (value.empty()) usageError("--out needs a file name");
      o.out = std::string(value);
    }
  }
  if (!o.haveCount) usageError("--count N is required (try --help)");
  if (haveCountries && o.countries.empty()) usageError("--countries is empty");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parseArgs(argc, argv);

  static const std::vector<CountryDef> defs = makeCountries();
  std::vector<Country> chosen;
  bool poolsOk = true;
  if (opt.countries.empty()) {
    for (const auto& d : defs) chosen.push_back(prepare(d, poolsOk));
  } else {
    for (const auto& code : opt.countries) {
      const auto it = std::find_if(defs.begin(), defs.end(),
                                   [&](const CountryDef& d) { return code == d.code; });
      if (it == defs.end()) {
        std::string msg = "unknown country '" + code + "' (known:";
        for (const auto& d : defs) msg.append(" ").append(d.code);
        usageError(msg.append(")"));
      }
      chosen.push_back(prepare(*it, poolsOk));
    }
  }
  if (!poolsOk) {
    std::fputs("liaison-gendir: internal error: a name pool does not transliterate\n", stderr);
    return 1;
  }

  std::FILE* out = stdout;
  if (!opt.out.empty()) {
    out = std::fopen(opt.out.c_str(), "wb");
    if (!out) usageError("cannot open '" + opt.out + "' for writing: " + std::strerror(errno));
  }

  Generator gen(std::move(chosen), opt.seed);
  std::string buf;
  buf.reserve(1 << 21);
  bool ok = true;
  for (std::uint64_t n = opt.first; n < opt.first + opt.count && ok; ++n) {
    gen.next(n, buf);
    if (buf.size() >= (1 << 20)) {
      ok = std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
      buf.clear();
    }
  }
  if (ok && !buf.empty()) ok = std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
  if (std::fflush(out) != 0) ok = false;
  if (out != stdout && std::fclose(out) != 0) ok = false;
  if (!ok) {
    std::fprintf(stderr, "liaison-gendir: write failed: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}
