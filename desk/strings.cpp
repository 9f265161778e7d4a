#include "desk/strings.h"

#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

namespace liaison::desk {

namespace {

struct Pair {
  std::string_view en, ru;
};

// The desk's words: English (the key) and Russian.
constexpr Pair kWords[] = {
    {"24/7", "круглосуточно"},
    {"A new alert has arrived.", "Пришло новое оповещение."},
    {"A person must acknowledge it", "Требуется подтверждение сотрудником"},
    {"Acknowledge", "Подтвердить"},
    {"Acknowledgement and escalation", "Подтверждение и эскалация"},
    {"Acknowledgement", "Подтверждение"},
    {"After hours", "В нерабочее время"},
    {"Alerts received", "Получено оповещений"},
    {"Alerts", "Оповещения"},
    {"Answer", "Ответ"},
    {"Answered", "Ответ получен"},
    {"Answers come from this site's own replica; nothing leaves this machine.",
     "Ответы берутся из собственной реплики этого узла; ничто не покидает этот компьютер."},
    {"Answers waiting for the broker", "Ответы, ожидающие брокера"},
    {"Answers", "Ответы"},
    {"As last reported: the broker is not reachable.",
     "По последним сведениям: брокер недоступен."},
    {"Available now", "Доступен сейчас"},
    {"Behind the broker", "Отставание от брокера"},
    {"Body", "Уровень органа"},
    {"Broker", "Брокер"},
    {"By", "Кто"},
    {"Came from", "Источник"},
    {"Cancel the alert", "Отменить оповещение"},
    {"Case reference", "Номер дела"},
    {"Certainty", "Достоверность"},
    {"Comment (optional)", "Комментарий (необязательно)"},
    {"Competence", "Компетенция"},
    {"Competence: \"{}\" is not a competence.", "Компетенция: «{}» — не компетенция."},
    {"Competences", "Компетенции"},
    {"Contacts", "Контакты"},
    {"Counterpart", "Партнёр"},
    {"Countries", "Страны"},
    {"Country", "Страна"},
    {"Country: \"{}\" is not a country code (KG, TH, ...).",
     "Страна: «{}» — не код страны (KG, TH, ...)."},
    {"Covers", "Охватывает"},
    {"Date of birth", "Дата рождения"},
    {"Deadline to acknowledge (minutes)", "Срок подтверждения (минуты)"},
    {"Decline", "Отклонить"},
    {"Delivered", "Доставлено"},
    {"Deputy:", "Заместитель:"},
    {"Description", "Описание"},
    {"Direction", "Направление"},
    {"Download vCard", "Скачать vCard"},
    {"Error", "Ошибка"},
    {"Escalates to", "Эскалация к"},
    {"Event", "Событие"},
    {"Every target site", "Все узлы-адресаты"},
    {"Expires after (hours)", "Истекает через (часы)"},
    {"Expires after: a number of hours (1 to 8760).",
     "Истекает через: число часов (от 1 до 8760)."},
    {"Expires", "Истекает"},
    {"Fetched", "Получено"},
    {"Find a contact", "Найти контакт"},
    {"Find counterparts", "Найти партнёров"},
    {"Focal points (record ids)", "Контактные лица (идентификаторы записей)"},
    {"Focal points in {} for a request from {}",
     "Контактные лица в стране {} для запроса из страны {}"},
    {"Forward to Interpol", "Переслать в Интерпол"},
    {"From", "От"},
    {"From: \"{}\" is not a country code (KG, TH, ...).",
     "Откуда: «{}» — не код страны (KG, TH, ...)."},
    {"Give your name: the sender sees who acknowledged.",
     "Укажите своё имя: отправитель видит, кто подтвердил."},
    {"Give your name: the targets see who sent the alert.",
     "Укажите своё имя: адресаты видят, кто отправил оповещение."},
    {"Headline", "Заголовок"},
    {"How to reach them", "Как связаться"},
    {"If nobody acknowledges: escalate to these sites",
     "Если никто не подтвердит: эскалация к этим узлам"},
    {"Interpol notices", "Уведомления Интерпола"},
    {"Interpol", "Интерпол"},
    {"Interpol's reference", "Номер Интерпола"},
    {"Items refused by this replica", "Отклонено этой репликой"},
    {"Kind of message", "Вид сообщения"},
    {"Kind", "Тип"},
    {"Language they accept", "Язык, который принимают"},
    {"Language", "Язык"},
    {"Language: \"{}\" is not a language code (ru, en, th, ...).",
     "Язык: «{}» — не код языка (ru, en, th, ...)."},
    {"Languages they accept that the requesting country uses",
     "Языки запрашивающей страны, которые принимают"},
    {"Languages", "Языки"},
    {"Last heard from the broker", "Последняя связь с брокером"},
    {"Legal bases both countries share", "Правовые основания, общие для обеих стран"},
    {"Legal bases", "Правовые основания"},
    {"Legal basis", "Правовое основание"},
    {"Legal basis: \"{}\" is not a legal basis.",
     "Правовое основание: «{}» — не правовое основание."},
    {"Legal instruments", "Правовые документы"},
    {"Main", "Главное меню"},
    {"Member sites", "Узлы сети"},
    {"Name at least one target: a country, a role, a network, a site or a focal point.",
     "Укажите хотя бы одного адресата: страну, роль, сеть, узел или контактное лицо."},
    {"Name", "Имя"},
    {"Name, in any script", "Имя, в любой письменности"},
    {"Nationalities", "Гражданство"},
    {"Nationality", "Гражданство"},
    {"Nationality: \"{}\" is not a country code (KG, TH, ...).",
     "Гражданство: «{}» — не код страны (KG, TH, ...)."},
    {"Network", "Сеть"},
    {"Network: \"{}\" is not a network name.", "Сеть: «{}» — не название сети."},
    {"Networks", "Сети"},
    {"No alerts at this site.", "На этом узле нет оповещений."},
    {"No notices in this site's replica.", "В реплике этого узла нет уведомлений."},
    {"None recorded: ask the secretariat; reciprocity may apply.",
     "Не записаны: обратитесь в секретариат; возможна взаимность."},
    {"None: plan for translation.", "Нет: предусмотрите перевод."},
    {"Not available now", "Сейчас недоступен"},
    {"Not found", "Не найдено"},
    {"Notes", "Примечания"},
    {"Nothing matched in this site's replica.", "В реплике этого узла ничего не найдено."},
    {"Notice", "Уведомление"},
    {"Notices", "Уведомления"},
    {"Now", "Сейчас"},
    {"Now, from the broker.", "Сейчас, по данным брокера."},
    {"Office hours", "Часы работы"},
    {"Only a contact has a vCard.", "vCard есть только у контакта."},
    {"Organization", "Организация"},
    {"Out of office until {}.", "Отсутствует до {}."},
    {"Parties", "Участники"},
    {"Peer networks", "Партнёрские сети"},
    {"Record", "Запись"},
    {"Records from {}", "Записи из сети {}"},
    {"Replaced by", "Заменено"},
    {"Replaces", "Заменяет"},
    {"Replica", "Реплика"},
    {"Request from (country)", "Запрос из (страна)"},
    {"Request to (country)", "Запрос в (страна)"},
    {"Requests need an electronic signature.", "Запросы требуют электронной подписи."},
    {"Requests refused by the desk", "Запросов, отклонённых рабочим местом"},
    {"Retired records", "Выведенные записи"},
    {"Review due", "Проверить до"},
    {"Role", "Роль"},
    {"Role: \"{}\" is not a role.", "Роль: «{}» — не роль."},
    {"Roles", "Роли"},
    {"Search", "Поиск"},
    {"Send an alert to this focal point", "Отправить оповещение этому контактному лицу"},
    {"Send an alert", "Отправить оповещение"},
    {"Send only encrypted.", "Отправлять только в зашифрованном виде."},
    {"Send the alert", "Отправить оповещение"},
    {"Send the update", "Отправить обновление"},
    {"Sender", "Отправитель"},
    {"Sent", "Отправлено"},
    {"Separate several with commas. Every site that matches any of them receives the alert.",
     "Несколько значений разделяйте запятыми. Оповещение получит каждый узел, подходящий под любое "
     "из них."},
    {"Severity", "Серьёзность"},
    {"Show", "Показать"},
    {"Sign in", "Вход"},
    {"Sign out", "Выйти"},
    {"Signed out.", "Вы вышли."},
    {"Site", "Узел"},
    {"Sites", "Узлы"},
    {"Skip to content", "Перейти к содержанию"},
    {"Something went wrong at this site (it is in the site daemon's log).",
     "На этом узле произошла ошибка (она записана в журнал демона узла)."},
    {"Stale: the review of this record was due on {}; check before relying on it.",
     "Устарело: запись нужно было проверить до {}; уточните, прежде чем полагаться на неё."},
    {"State", "Состояние"},
    {"Status of this site", "Состояние этого узла"},
    {"Status", "Состояние"},
    {"Stored at this site; it will reach the sender as soon as the broker is reachable.",
     "Сохранено на этом узле; ответ дойдёт до отправителя, как только брокер станет доступен."},
    {"Targets", "Адресаты"},
    {"The alert was not sent:", "Оповещение не отправлено:"},
    {"The alert", "Оповещение"},
    {"The answer was not accepted:", "Ответ не принят:"},
    {"The broker did not answer: the alert was not sent. Try again when the site is connected.",
     "Брокер не ответил: оповещение не отправлено. Повторите, когда узел будет подключён."},
    {"The broker refused the alert:", "Брокер отклонил оповещение:"},
    {"The deadline is a number of minutes (1 to 10080).", "Срок — число минут (от 1 до 10080)."},
    {"The headline is required.", "Заголовок обязателен."},
    {"The request was malformed.", "Запрос составлен неверно."},
    {"There is no alert {} at this site.", "На этом узле нет оповещения {}."},
    {"There is no such page.", "Такой страницы нет."},
    {"This form has expired or did not come from this desk. Reload the page and try again.",
     "Форма устарела или отправлена не с этого рабочего места. Обновите страницу и повторите."},
    {"This page answers only at its own address:",
     "Эта страница отвечает только по своему адресу:"},
    {"This sign-in link is not valid: it was used already, or it is more than five minutes old. "
     "Run `liaison desk` for a new one.",
     "Ссылка для входа недействительна: она уже использована или ей больше пяти минут. Выполните "
     "`liaison desk`, чтобы получить новую."},
    {"This site's replica holds no record {}.", "В реплике этого узла нет записи {}."},
    {"Title", "Должность"},
    {"To open the desk again, run `liaison desk` on the site's machine.",
     "Чтобы снова открыть рабочее место, выполните `liaison desk` на компьютере узла."},
    {"To open the desk, run this on the site's machine and open the link it prints (it works once, "
     "for five minutes):",
     "Чтобы открыть рабочее место, выполните на компьютере узла эту команду и откройте ссылку, "
     "которую она выведет (ссылка действует один раз, пять минут):"},
    {"To: \"{}\" is not a country code (KG, TH, ...).",
     "Куда: «{}» — не код страны (KG, TH, ...)."},
    {"Topic", "Тема"},
    {"Topic: \"{}\" is not a topic (trafficking-in-persons, ...).",
     "Тема: «{}» — не тема (trafficking-in-persons, ...)."},
    {"Topics", "Темы"},
    {"Update or cancel", "Обновить или отменить"},
    {"Urgency", "Срочность"},
    {"Urgent: 24/7 first", "Срочно: сначала круглосуточные"},
    {"Verified within (days)", "Проверено за (дней)"},
    {"Verified within: \"{}\" is not a number of days (1 to 3650).",
     "Проверено за: «{}» — не число дней (от 1 до 3650)."},
    {"Verified", "Проверено"},
    {"What the targets should do", "Что должны сделать адресаты"},
    {"What was sent is too large.", "Отправленное слишком велико."},
    {"Who do I ask?", "К кому обратиться?"},
    {"Who receives it", "Кто получит"},
    {"Why it is cancelled", "Причина отмены"},
    {"Your name", "Ваше имя"},
    {"\"{}\" is not a kind of notice.", "«{}» — не вид уведомления."},
    {"\"{}\" is not a record id.", "«{}» — не идентификатор записи."},
    {"\"{}\" is not an alert id.", "«{}» — не идентификатор оповещения."},
    {"a peer network, over a bridge", "партнёрская сеть, через мост"},
    {"any", "любая"},
    {"available now", "доступен сейчас"},
    {"bridge to {}", "мост в {}"},
    {"connected", "подключён"},
    {"countries", "страны"},
    {"deadline {}", "срок {}"},
    {"escalation", "эскалация"},
    {"focal points", "контактные лица"},
    {"forwarded to Interpol", "переслано в Интерпол"},
    {"networks", "сети"},
    {"not connected", "не подключён"},
    {"not now", "не сейчас"},
    {"preferred", "предпочтительно"},
    {"received", "получено"},
    {"required", "требуется"},
    {"revision {}", "редакция {}"},
    {"roles", "роли"},
    {"sent", "отправлено"},
    {"sites", "узлы"},
    {"stale", "устарело"},
    {"valid until {}", "действует до {}"},
    {"A refusal gives its grounds in the comment.",
     "В отказе укажите его основания в комментарии."},
    {"Case", "Дело"},
    {"Deadline", "Срок"},
    {"Download", "Скачать"},
    {"Every step is signed by the party that took it and chained to the one before.",
     "Каждый шаг подписан стороной, которая его совершила, и связан с предыдущим."},
    {"Files", "Файлы"},
    {"Files arrive before it can be opened.", "Файлы ещё поступают: открыть запрос пока нельзя."},
    {"Give your name: the sender sees who opened the request.",
     "Укажите своё имя: отправитель видит, кто открыл запрос."},
    {"Give your name: the sender sees who set the status.",
     "Укажите своё имя: отправитель видит, кто установил состояние."},
    {"Grounds or comment", "Основания или комментарий"},
    {"In the sender's trail, under your name.", "В журнале отправителя, под вашим именем."},
    {"Incoming", "Входящие"},
    {"Incoming and outgoing", "Входящие и исходящие"},
    {"MLA requests", "Запросы о правовой помощи"},
    {"Measures", "Меры"},
    {"No requests at this site.", "На этом узле нет запросов."},
    {"No requests match.", "Нет подходящих запросов."},
    {"Not done:", "Не выполнено:"},
    {"Open it", "Открыть"},
    {"Open only", "Только незавершённые"},
    {"Open the request", "Открыть запрос"},
    {"Opening signs \"opened\" with your name (the sender sees it); then its files can be "
     "downloaded.",
     "Открытие подписывает шаг «открыт» с вашим именем (отправитель его увидит); после этого файлы "
     "можно скачать."},
    {"Other side", "Другая сторона"},
    {"Outgoing", "Исходящие"},
    {"Our reference (optional)", "Наш номер (необязательно)"},
    {"Reference", "Номер"},
    {"Request {}", "Запрос {}"},
    {"Requests", "Запросы"},
    {"Requests: {}", "Запросов: {}"},
    {"Set the status", "Установить состояние"},
    {"Show requests", "Показать запросы"},
    {"Signed trail", "Подписанный журнал"},
    {"Summary", "Краткое изложение"},
    {"The broker refused this request:", "Брокер отклонил этот запрос:"},
    {"The files did not arrive whole: the request cannot be opened.",
     "Файлы поступили не полностью: запрос нельзя открыть."},
    {"The trail does not check:", "Журнал не проходит проверку:"},
    {"There is no request {} at this site.", "На этом узле нет запроса {}."},
    {"This site keeps no MLA requests.", "Этот узел не ведёт запросы о правовой помощи."},
    {"To", "Кому"},
    {"Trail checked", "Журнал проверен"},
    {"Which", "Какие"},
    {"\"{}\" is not a request id.", "«{}» — не идентификатор запроса."},
    {"\"{}\" is not a status.", "«{}» — не состояние."},
    {"\"{}\" is not one of its files.", "«{}» — не один из его файлов."},
    {"due in {} days", "осталось дней: {}"},
    {"key {}", "ключ {}"},
    {"normal", "обычный"},
    {"overdue", "просрочен"},
    {"signed by {}", "подписал: {}"},
    {"urgent", "срочный"},
    {"{} KB", "{} КБ"},
    {"{} MB", "{} МБ"},
    {"{} bytes", "{} байт"},
    {"{} acknowledged", "подтвердили: {}"},
    {"Alerts: {}", "Оповещений: {}"},
    {"Showing the newest {} of {} closed alerts.",
     "Показаны последние {} из {} закрытых оповещений."},
    {"Show all alerts", "Показать все оповещения"},
    {"{} found", "найдено: {}"},
    {"{} found, best first", "найдено: {}, лучшие первыми"},
    {"{} items", "элементов: {}"},
    {"{} of {} delivered", "доставлено {} из {}"},
    {"{} revoked", "отозвано: {}"},
    {"{} s ago", "{} с назад"},
    {"{} there ({})", "там сейчас {} ({})"},
};

struct Term {
  std::string_view vocabulary, value, en, ru;
};

// The vocabularies: roles, competences, topics, channels, CAP's words, states, and MLA requests'
// measures, states (their statuses among them), trail steps and directions.
constexpr Term kTerms[] = {
    {"role", "prosecutor", "Prosecutor", "Прокурор"},
    {"role", "central-authority", "Central authority", "Центральный орган"},
    {"role", "investigator", "Investigator", "Следователь"},
    {"role", "interpol-ncb", "Interpol NCB", "НЦБ Интерпола"},
    {"role", "judge", "Judge", "Судья"},
    {"role", "liaison-officer", "Liaison officer", "Офицер связи"},
    {"role", "network-contact-point", "Network contact point", "Контактное лицо сети"},
    {"role", "victim-services", "Victim services", "Помощь пострадавшим"},
    {"role", "secretariat", "Secretariat", "Секретариат"},
    {"competence", "mla", "Mutual legal assistance", "Взаимная правовая помощь"},
    {"competence", "extradition", "Extradition", "Выдача"},
    {"competence", "joint-investigation", "Joint investigation", "Совместное расследование"},
    {"competence", "spontaneous-information", "Spontaneous information", "Информация по собственной инициативе"},
    {"competence", "asset-recovery", "Asset recovery", "Возврат активов"},
    {"competence", "transfer-of-sentenced-persons", "Transfer of sentenced persons", "Передача осуждённых"},
    {"competence", "video-hearing", "Video hearing", "Допрос по видеосвязи"},
    {"topic", "trafficking-in-persons", "Trafficking in persons", "Торговля людьми"},
    {"topic", "smuggling-of-migrants", "Smuggling of migrants", "Незаконный ввоз мигрантов"},
    {"topic", "child-protection", "Child protection", "Защита детей"},
    {"topic", "sexual-exploitation", "Sexual exploitation", "Сексуальная эксплуатация"},
    {"topic", "forced-labour", "Forced labour", "Принудительный труд"},
    {"topic", "cybercrime", "Cybercrime", "Киберпреступность"},
    {"topic", "money-laundering", "Money laundering", "Отмывание денег"},
    {"topic", "corruption", "Corruption", "Коррупция"},
    {"topic", "drug-trafficking", "Drug trafficking", "Незаконный оборот наркотиков"},
    {"topic", "terrorism", "Terrorism", "Терроризм"},
    {"topic", "organized-crime", "Organized crime", "Организованная преступность"},
    {"channel", "email", "E-mail", "Эл. почта"},
    {"channel", "phone", "Phone", "Телефон"},
    {"channel", "mobile", "Mobile", "Мобильный"},
    {"channel", "fax", "Fax", "Факс"},
    {"channel", "secure-messaging", "Secure messaging", "Защищённая связь"},
    {"channel", "i24-7", "Interpol I-24/7", "Интерпол I-24/7"},
    {"channel", "post", "Post", "Почта"},
    {"urgency", "immediate", "Immediate", "Немедленно"},
    {"urgency", "expected", "Expected", "Ожидается"},
    {"urgency", "future", "Future", "В будущем"},
    {"urgency", "past", "Past", "В прошлом"},
    {"urgency", "unknown", "Unknown", "Неизвестно"},
    {"severity", "extreme", "Extreme", "Чрезвычайная"},
    {"severity", "severe", "Severe", "Высокая"},
    {"severity", "moderate", "Moderate", "Средняя"},
    {"severity", "minor", "Minor", "Низкая"},
    {"severity", "unknown", "Unknown", "Неизвестно"},
    {"certainty", "observed", "Observed", "Наблюдается"},
    {"certainty", "likely", "Likely", "Вероятно"},
    {"certainty", "possible", "Possible", "Возможно"},
    {"certainty", "unlikely", "Unlikely", "Маловероятно"},
    {"certainty", "unknown", "Unknown", "Неизвестно"},
    {"status", "actual", "Actual", "Реальное"},
    {"status", "exercise", "Exercise", "Учения"},
    {"status", "test", "Test", "Проверка"},
    {"status", "active", "Active", "Действует"},
    {"status", "suspended", "Suspended", "Приостановлено"},
    {"status", "retired", "Retired", "Выведено"},
    {"msgType", "alert", "Alert", "Оповещение"},
    {"msgType", "update", "Update", "Обновление"},
    {"msgType", "cancel", "Cancellation", "Отмена"},
    {"state", "new", "New", "Новое"},
    {"state", "acknowledged", "Acknowledged", "Подтверждено"},
    {"state", "declined", "Declined", "Отклонено"},
    {"state", "expired", "Expired", "Истекло"},
    {"state", "updated", "Updated", "Обновлено"},
    {"state", "cancelled", "Cancelled", "Отменено"},
    {"state", "sent", "Sent", "Отправлено"},
    {"state", "queued", "Queued", "В очереди"},
    {"state", "delivered", "Delivered", "Доставлено"},
    {"state", "receipt", "Received", "Получено"},
    {"state", "escalated", "escalated", "эскалировано"},
    {"state", "open", "Open", "Открыто"},
    {"state", "closed", "Closed", "Закрыто"},
    {"state", "active", "Active", "Действует"},
    {"state", "retired", "Ended", "Прекращено"},
    {"state", "following", "Up to date", "Актуальна"},
    {"state", "fetching", "Catching up", "Догоняет"},
    {"state", "snapshot", "Loading a snapshot", "Загружает снимок"},
    {"state", "connecting", "Connecting", "Подключается"},
    {"state", "refused", "Refused", "Отклонено"},
    {"state", "failed", "Failed", "Не доставлено"},
    {"notice", "yellow", "Yellow notice", "Жёлтое уведомление"},
    {"notice", "red", "Red notice", "Красное уведомление"},
    {"measure", "hearing-of-witness", "Hearing of a witness", "Допрос свидетеля"},
    {"measure", "hearing-of-suspect", "Hearing of a suspect", "Допрос подозреваемого"},
    {"measure", "bank-records", "Bank records", "Банковские документы"},
    {"measure", "freezing-of-assets", "Freezing of assets", "Замораживание активов"},
    {"measure", "search-and-seizure", "Search and seizure", "Обыск и выемка"},
    {"measure", "electronic-evidence", "Electronic evidence", "Электронные доказательства"},
    {"measure", "service-of-documents", "Service of documents", "Вручение документов"},
    {"measure", "video-hearing", "Hearing by video", "Допрос по видеосвязи"},
    {"measure", "spontaneous-information", "Spontaneous information", "Информация по собственной инициативе"},
    {"measure", "other", "Other", "Иное"},
    {"request", "uploading", "Files being stored here", "Файлы загружаются на узел"},
    {"request", "sending", "Sending", "Отправляется"},
    {"request", "sent", "Sent", "Отправлен"},
    {"request", "accepted", "Accepted by the broker", "Принят брокером"},
    {"request", "refused-by-broker", "Refused by the broker", "Отклонён брокером"},
    {"request", "fetching", "Arriving", "Поступает"},
    {"request", "damaged", "Damaged in transfer", "Повреждён при передаче"},
    {"request", "delivered", "Delivered", "Доставлен"},
    {"request", "opened", "Opened", "Открыт"},
    {"request", "registered", "Registered", "Зарегистрирован"},
    {"request", "in-execution", "In execution", "Исполняется"},
    {"request", "more-information-needed", "More information needed", "Требуются дополнительные сведения"},
    {"request", "executed", "Executed", "Исполнен"},
    {"request", "partially-executed", "Partially executed", "Исполнен частично"},
    {"request", "refused", "Refused", "Отказано в исполнении"},
    {"step", "sent", "Sent", "Отправлен"},
    {"step", "accepted", "Accepted by the broker", "Принят брокером"},
    {"step", "delivered", "Delivered", "Доставлен"},
    {"step", "opened", "Opened", "Открыт"},
    {"step", "status", "Status", "Состояние"},
    {"direction", "incoming", "Incoming", "Входящий"},
    {"direction", "outgoing", "Outgoing", "Исходящий"},
    {"kind", "person", "Person", "Лицо"},
    {"kind", "desk", "Desk", "Дежурная служба"},
    {"kind", "authority", "Authority", "Орган"},
    {"body", "central", "Central", "Центральный"},
    {"body", "territorial", "Territorial", "Территориальный"},
};

std::atomic<size_t> gMissing{0};

const std::map<std::string_view, std::string_view>& russian() {
  static const auto* table = [] {
    auto* m = new std::map<std::string_view, std::string_view>;
    for (const auto& p : kWords) m->emplace(p.en, p.ru);
    return m;
  }();
  return *table;
}

std::string fromIcu(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

}  // namespace

std::string_view tr(Lang lang, std::string_view english) {
  if (lang == Lang::kEn) return english;
  const auto& table = russian();
  auto it = table.find(english);
  if (it != table.end()) return it->second;
  gMissing.fetch_add(1, std::memory_order_relaxed);
  return english;
}

std::string subst(std::string_view text, std::initializer_list<std::string_view> args) {
  std::string out;
  auto arg = args.begin();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 1 < text.size() && text[i + 1] == '}' && arg != args.end()) {
      out.append(*arg++);
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string word(Lang lang, std::string_view vocabulary, std::string_view value) {
  for (const auto& t : kTerms) {
    if (t.value == value && (t.vocabulary == vocabulary || vocabulary.empty())) {
      return std::string(lang == Lang::kRu ? t.ru : t.en);
    }
  }
  return std::string(value);
}

std::string countryName(Lang lang, std::string_view code) {
  if (code.size() != 2) return std::string(code);
  std::string region(code);
  icu::Locale where("", region.c_str());
  icu::UnicodeString name;
  where.getDisplayCountry(icu::Locale(lang == Lang::kRu ? "ru" : "en"), name);
  std::string out = fromIcu(name);
  return out.empty() || out == region ? region : out;
}

std::string languageName(Lang lang, std::string_view tag) {
  std::string primary(tag.substr(0, tag.find('-')));
  if (primary.empty() || primary.size() > 8) return std::string(tag);
  icu::Locale what(primary.c_str());
  icu::UnicodeString name;
  what.getDisplayLanguage(icu::Locale(lang == Lang::kRu ? "ru" : "en"), name);
  std::string out = fromIcu(name);
  return out.empty() || out == primary ? std::string(tag) : out;
}

size_t missingTranslations() { return gMissing.load(std::memory_order_relaxed); }

std::span<const std::string_view> knownTopics() {
  static constexpr std::string_view kTopics[] = {"trafficking-in-persons", "smuggling-of-migrants", "child-protection", "sexual-exploitation", "forced-labour", "cybercrime", "money-laundering", "corruption", "drug-trafficking", "terrorism", "organized-crime"};
  return kTopics;
}

std::span<const std::string_view> regionCountries() {
  static constexpr std::string_view kCodes[] = {
      "AM", "AZ", "GE", "KG", "KZ", "RU", "TJ", "TM", "UZ", "BN", "ID", "KH", "LA", "MM",
      "MY", "PH", "SG", "TH", "TL", "VN", "CN", "IN", "BD", "LK", "NP", "TR", "AE"};
  return kCodes;
}

size_t translationCount() { return std::size(kWords) + std::size(kTerms); }

std::string_view translationAt(size_t i, Lang lang) {
  if (i < std::size(kWords)) return lang == Lang::kRu ? kWords[i].ru : kWords[i].en;
  const Term& t = kTerms[i - std::size(kWords)];
  return lang == Lang::kRu ? t.ru : t.en;
}

}  // namespace liaison::desk
