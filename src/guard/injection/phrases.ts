/**
 * @module guard/injection/phrases — the dictionary of instruction-override, persona, reveal and
 * exfiltration phrases. Each rule is an ordered list of keyword groups ('|'-separated
 * alternatives, folded like the text, so spaces and diacritics here are cosmetic); a trailing
 * '#' on an alternative requires a word boundary after it.
 */

/** What kind of attack a rule recognises. */
export type PhraseKind = 'override' | 'persona' | 'reveal' | 'exfiltration' | 'mode';

/** One phrase rule: every group in order, at most `gap` skeleton letters between groups. */
export interface PhraseRule {
  readonly kind: PhraseKind;
  readonly lang: string;
  readonly weight: number;
  readonly groups: readonly string[];
  readonly gap: number;
  /** English negations just before the match ("don't forget …") cancel it. */
  readonly negatable?: boolean;
}

type Lexicon = readonly [lang: string, verbs: string, adjectives: string, nouns: string];

// verb / "previous"-adjective / "instructions"-noun per language; the rules try the orders
// verb-adj-noun, verb-noun-adj and adj-noun-verb (SOV languages put the verb last).
const OVERRIDE: readonly Lexicon[] = [
  [
    'en',
    'ignore|disregard|forget|neglect|discard|abandon|overlook|pay no attention to|throw away',
    'previous|prior|above|earlier|preceding|foregoing|former|original|initial|system',
    'instructions|instruction|rules|directions|directives|guidelines|commands|prompts|prompt|context|constraints|guardrails|restrictions|programming|orders',
  ],
  [
    'de',
    'ignoriere|ignorier|ignorieren|vergiss|vergesst|vergessen|missachte|missachten|überspringe',
    'vorherigen|vorherige|bisherigen|bisherige|obigen|obige|vorangegangenen|früheren|alle|ursprünglichen',
    'anweisungen|anweisung|instruktionen|regeln|befehle|vorgaben|richtlinien|anordnungen|systemprompt',
  ],
  [
    'fr',
    'ignore|ignorez|ignorer|oublie|oubliez|oublier|néglige|négligez|ne tiens pas compte|ne tenez pas compte|fais abstraction',
    'précédentes|précédente|antérieures|ci-dessus|toutes|initiales|originales',
    'instructions|consignes|règles|directives|commandes|ordres|indications',
  ],
  [
    'es',
    'ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olviden|omite|descarta|haz caso omiso|no hagas caso',
    'anteriores|previas|precedentes|de arriba|todas|iniciales|originales',
    'instrucciones|indicaciones|reglas|órdenes|directrices|normas|comandos',
  ],
  [
    'it',
    'ignora|ignorare|ignorate|dimentica|dimenticare|dimenticate|trascura|non considerare',
    'precedenti|sopra|tutte|iniziali|originali|anteriori',
    'istruzioni|regole|indicazioni|direttive|comandi|ordini|disposizioni',
  ],
  [
    'pt',
    'ignore|ignora|ignorar|esqueça|esquece|esquecer|desconsidere|desconsidera|despreze',
    'anteriores|prévias|acima|todas|iniciais|originais',
    'instruções|regras|orientações|diretrizes|comandos|ordens|indicações',
  ],
  [
    'nl',
    'negeer|negeren|vergeet|vergeten',
    'vorige|eerdere|voorgaande|bovenstaande|alle|oorspronkelijke',
    'instructies|instructie|regels|aanwijzingen|opdrachten|richtlijnen',
  ],
  [
    'pl',
    'zignoruj|ignoruj|zapomnij|pomiń|nie zwracaj uwagi',
    'poprzednie|wcześniejsze|powyższe|wszystkie|dotychczasowe|poprzednich|wcześniejszych',
    'instrukcje|instrukcji|polecenia|poleceń|zasady|zasad|reguły|wytyczne',
  ],
  [
    'ru',
    'игнорируй|игнорируйте|игнорировать|забудь|забудьте|проигнорируй|не обращай внимания|отбрось',
    'предыдущие|предыдущих|все|прошлые|вышеуказанные|вышеприведенные|прежние|изначальные',
    'инструкции|инструкций|указания|указаний|правила|команды|команд|директивы',
  ],
  [
    'uk',
    'ігноруй|ігноруйте|проігноруй|забудь|забудьте|не зважай',
    'попередні|попередніх|усі|всі|вищенаведені',
    'інструкції|інструкцій|вказівки|вказівок|правила|команди',
  ],
  [
    'tr',
    'yok say|yoksay|görmezden gel|unut|dikkate alma|umursama|göz ardı et',
    'önceki|yukarıdaki|tüm|bütün|daha önceki',
    'talimatları|talimatlar|kuralları|kurallar|komutları|yönergeleri|talimatı',
  ],
  [
    'ar',
    'تجاهل|تجاهلي|انس|انسى|اهمل|أهمل',
    'السابقة|كل|جميع|أعلاه|الأولى',
    'التعليمات|تعليمات|الأوامر|القواعد|الإرشادات',
  ],
  [
    'he',
    'התעלם|התעלמי|שכח|שכחי|תתעלם',
    'הקודמות|הקודמים|כל|הקודמת|לעיל',
    'ההוראות|הוראות|ההנחיות|הנחיות|הכללים|הפקודות',
  ],
  [
    'hi',
    'अनदेखा|नज़रअंदाज़|नजरअंदाज|भूल जाओ|भूल जाएं|इग्नोर|उपेक्षा',
    'पिछले|पिछली|सभी|पूर्व|ऊपर के|पहले के',
    'निर्देशों|निर्देश|नियमों|नियम|आदेशों',
  ],
  [
    'zh',
    '忽略|无视|忽视|忘记|忘掉|不要理会|跳过|無視|忘記|不要遵守',
    '之前|以前|先前|上面|以上|前面|所有|上述|此前|原来',
    '指令|指示|说明|規則|规则|提示|命令|设定|說明|約束',
  ],
  [
    'ja',
    '無視|忘れ|従わない|従うな',
    '以前の|前の|上記の|これまでの|すべての|全ての|先ほどの|元の',
    '指示|命令|ルール|指令|設定|制約|プロンプト',
  ],
  ['ko', '무시|잊어|잊고|따르지', '이전|위의|모든|앞의|기존', '지시|지침|명령|규칙|설정|프롬프트'],
  [
    'vi',
    'bỏ qua|phớt lờ|quên|lờ đi|không tuân theo',
    'trước đó|trước|ở trên|tất cả|ban đầu',
    'hướng dẫn|chỉ dẫn|chỉ thị|quy tắc|lệnh|yêu cầu',
  ],
  [
    'id',
    'abaikan|lupakan|jangan hiraukan|abaikanlah|acuhkan',
    'sebelumnya|di atas|semua|awal|terdahulu',
    'instruksi|perintah|aturan|petunjuk|arahan',
  ],
];

// [lang, verbs, objects]: "reveal your system prompt" and its translations (verb-object and
// object-verb orders).
const REVEAL: readonly (readonly [string, string, string])[] = [
  [
    'en',
    'reveal|print|show|output|repeat|display|leak|dump|disclose|tell me|give me|share|reproduce|write out|spell out|recite|what is|what are|whats',
    'your system prompt|the system prompt|your system message|your initial prompt|your hidden prompt|your original instructions|your hidden instructions|your secret instructions|your system instructions|your initial instructions|the text above|everything above|the words above|your pre-prompt|the developer message|your instructions verbatim',
  ],
  [
    'de',
    'zeige|zeig|gib|verrate|nenne|wiederhole|ausgeben',
    'deinen systemprompt|deine systemanweisungen|den systemprompt|deine anweisungen wörtlich|deine versteckten anweisungen',
  ],
  [
    'fr',
    'révèle|révélez|affiche|affichez|montre|montrez|répète|donne',
    'ton prompt système|votre prompt système|tes instructions système|vos instructions système|tes instructions initiales|le prompt système',
  ],
  [
    'es',
    'revela|muestra|dime|repite|imprime|muéstrame',
    'tu prompt del sistema|tus instrucciones del sistema|el prompt del sistema|tus instrucciones iniciales|tus instrucciones ocultas',
  ],
  [
    'ru',
    'покажи|выведи|раскрой|повтори|напиши',
    'системный промпт|системные инструкции|свои инструкции|твои инструкции|исходные инструкции',
  ],
  [
    'zh',
    '显示|输出|告诉我|泄露|打印|重复|透露',
    '系统提示|系统提示词|你的指令|系统指令|初始指令|你的提示词',
  ],
  ['ja', '表示|教えて|出力|見せて|繰り返して', 'システムプロンプト|システム指示|最初の指示'],
  ['ko', '보여|알려|출력|공개', '시스템 프롬프트|시스템 지시|초기 지시'],
];

const EN: readonly PhraseRule[] = [
  {
    kind: 'override',
    lang: 'en',
    weight: 0.85,
    gap: 8,
    groups: [
      'ignore|disregard|forget|override|bypass|neglect|discard',
      'your instructions|your rules|your guidelines|your programming|your training|your system prompt|the system prompt|your safety guidelines|the content policy|your restrictions|your filters|everything above|everything before this|all of the above|what you were told|your previous|all instructions|all prior|all previous|any instructions|all the instructions|all your instructions|all rules and|all safety',
    ],
  },
  {
    kind: 'override',
    lang: 'en',
    weight: 0.8,
    gap: 12,
    groups: [
      'do not follow|dont follow|stop following|no longer follow|you dont have to follow|you are no longer bound by|you are free from|you are not bound by|no longer need to follow',
      'your rules|your guidelines|your programming|your instructions|previous instructions|the content policy|safety guidelines|ethical guidelines|openai|anthropic|your restrictions|any rules',
    ],
  },
  {
    kind: 'override',
    lang: 'en',
    weight: 0.75,
    gap: 4,
    groups: [
      'your new instructions are|your real instructions are|your true instructions|new system prompt|the following overrides|this overrides all|supersedes all previous|these instructions take priority|updated system instructions|system override|admin override',
    ],
  },
  {
    kind: 'persona',
    lang: 'en',
    weight: 0.8,
    gap: 10,
    groups: [
      'you are now|from now on you are|from now on you will|act as|pretend to be|pretend you are|roleplay as|you will now act as|you will act as|behave as|you are going to act as|simulate',
      'dan#|do anything now|an unrestricted ai|an unrestricted model|an unrestricted assistant|an unfiltered model|an unfiltered ai|jailbroken|evil confidant|without any restrictions|without restrictions|no restrictions|no filters#|unfiltered|uncensored|stan#|dude#|an ai with no|freed from|not bound by|developer mode|god mode',
    ],
  },
  {
    kind: 'mode',
    lang: 'en',
    weight: 0.75,
    gap: 12,
    groups: [
      'developer mode enabled|developer mode output|with developer mode|dan mode enabled|jailbreak mode|jailbroken mode|god mode enabled|unrestricted mode|evil mode|stay in character|dan mode',
    ],
  },
  {
    kind: 'exfiltration',
    lang: 'en',
    weight: 0.85,
    gap: 24,
    groups: [
      'send|post|upload|forward|exfiltrate|transmit|leak|email|submit|append|encode',
      'the conversation|this conversation|chat history|conversation history|all previous messages|the users data|user data|api key|api keys|credentials|passwords|the system prompt|secrets|session token|cookies|private data|personal data|access token',
      'to http|to https|to the url|to this url|to the following url|to the endpoint|to this endpoint|to my server|to the server|to this address|to attacker|to the webhook|to this webhook|via a get request|in a markdown image|as an image url|as a url parameter|in the url|into the url|to evil|to example',
    ],
  },
];

function expand(): PhraseRule[] {
  const rules: PhraseRule[] = [...EN];
  for (const [lang, v, a, n] of OVERRIDE) {
    const negatable = lang === 'en';
    const base = { kind: 'override' as const, lang, weight: 0.85, gap: 14 };
    rules.push({ ...base, groups: [v, a, n], ...(negatable ? { negatable } : {}) });
    rules.push({ ...base, groups: [v, n, a], ...(negatable ? { negatable } : {}) });
    if (lang !== 'en') rules.push({ ...base, groups: [a, n, v] });
  }
  for (const [lang, v, o] of REVEAL) {
    const base = { kind: 'reveal' as const, lang, weight: 0.7, gap: 10 };
    rules.push({ ...base, groups: [v, o] });
    if (lang !== 'en') rules.push({ ...base, groups: [o, v] });
  }
  return rules;
}

/** Every phrase rule, all languages. */
export const PHRASE_RULES: readonly PhraseRule[] = expand();
