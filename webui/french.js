// Streamlit's own interface strings in French: the frontend hard-codes some English
// (uploader, input hints, data grid menus, status widget, screen-reader labels).
// Installed once per browser tab by webui/look.py; rewrites text nodes and the
// aria-label, title, placeholder and alt attributes as they appear.
(() => {
  if (window.__kbFrench) return;
  window.__kbFrench = true;
  document.documentElement.lang = "fr";

  const UNITS = { B: "o", KB: "Ko", MB: "Mo", GB: "Go" };
  const frSize = (n, unit) => `${Number(n).toLocaleString("fr-CA", { maximumFractionDigits: 1 })} ${UNITS[unit] || unit}`;
  const EXACT = {
    "Press Enter to apply": "Appuyez sur Entrée pour valider",
    "Press Enter to submit form": "Appuyez sur Entrée pour lancer",
    "Press ⌘+Enter to apply": "⌘+Entrée pour valider",
    "Press Ctrl+Enter to apply": "Ctrl+Entrée pour valider",
    "Press ⌘+Enter to submit form": "⌘+Entrée pour lancer",
    "Press Ctrl+Enter to submit form": "Ctrl+Entrée pour lancer",
    "Upload": "Choisir des fichiers",
    "add icon": "ajouter",
    "upload icon": "choisir",
    "Add files": "Ajouter des fichiers",
    "file upload": "Choisir des fichiers PDF",
    "Drag and drop files here": "Glissez-déposez des fichiers ici",
    "Drag and drop a file here": "Glissez-déposez un fichier ici",
    "Skip to main content": "Aller au contenu principal",
    "Running...": "Calcul en cours…",
    "Stop": "Arrêter",
    "Rerun": "Relancer",
    "Close": "Fermer",
    "Open": "Ouvrir",
    "Copy": "Copier",
    "Copy to clipboard": "Copier",
    "Cancel": "Annuler",
    "No results": "Aucun résultat",
    "No data": "Aucune donnée",
    "Select all": "Tout sélectionner",
    "Clear all": "Tout effacer",
    "Clear value": "Effacer",
    "Clear selection": "Effacer la sélection",
    "Choose options": "Choisissez",
    "Choose an option": "Choisissez",
    "Selected values": "Valeurs choisies",
    "Search": "Rechercher",
    "Close Search": "Fermer la recherche",
    "Previous Result": "Résultat précédent",
    "Next Result": "Résultat suivant",
    "Show/hide columns": "Afficher ou masquer des colonnes",
    "Download as CSV": "Télécharger en CSV",
    "Fullscreen": "Plein écran",
    "Close fullscreen": "Quitter le plein écran",
    "Dataframe column menu": "Menu de la colonne",
    "Copy column name": "Copier le nom de la colonne",
    "Sort ascending": "Trier par ordre croissant",
    "Sort descending": "Trier par ordre décroissant",
    "Autosize": "Ajuster la largeur",
    "Pin column": "Épingler la colonne",
    "Unpin column": "Désépingler la colonne",
    "Hide column": "Masquer la colonne",
    "Format": "Format",
    "Expand sidebar": "Ouvrir le panneau latéral",
    "Collapse sidebar": "Fermer le panneau latéral",
    "Sidebar": "Panneau latéral",
    "App pages": "Pages",
    "Main menu": "Menu principal",
    "Notifications": "Notifications",
    "Markdown content": "Texte",
    "Connecting": "Connexion…",
    "Connection error": "Connexion perdue",
    "Streamlit server is not responding. Are you connected to the internet?":
      "Le serveur de la base ne répond pas : il est peut-être arrêté. Relancez-le (bash scripts/app.sh), puis rechargez la page.",
    "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in your terminal:":
      "Le serveur de la base ne répond pas : il est peut-être arrêté. Relancez-le dans un terminal, puis rechargez la page :",
    "streamlit run yourscript.py": "bash scripts/app.sh",
    "Please wait...": "Veuillez patienter…",
    "Script execution error": "Erreur d’exécution",
    "File change.": "Fichier modifié.",
    "Always rerun": "Toujours relancer",
    "Link to heading": "Lien vers ce titre",
    "Show password": "Afficher le mot de passe",
    "Hide password": "Masquer le mot de passe",
  };
  const RULES = [
    [/^(\d+(?:\.\d+)?)(B|KB|MB|GB) per file(?: • (.+))?$/, (m, n, u, t) => `${t ? t + ", " : ""}${frSize(n, u)} au plus par fichier`],
    [/^(\d+(?:\.\d+)?)(B|KB|MB|GB)$/, (m, n, u) => frSize(n, u)],
    [/^(.+), (\d+(?:\.\d+)?)(B|KB|MB|GB)$/, (m, f, n, u) => `${f}, ${frSize(n, u)}`],
    [/^Remove (.+)$/, (m, f) => `Retirer ${f}`],
    [/^Fullscreen: (.+)$/, (m, f) => `Plein écran : ${f}`],
    [/^Close fullscreen: (.+)$/, (m, f) => `Quitter le plein écran : ${f}`],
    [/^File must be (\d+(?:\.\d+)?)(B|KB|MB|GB) or smaller\.$/, (m, n, u) => `Le fichier doit faire au plus ${frSize(n, u)}.`],
    [/^(.*) files are not allowed\.$/, (m, t) => `Type de fichier refusé${t ? " : " + t : ""}.`],
    [/^This type of files are not allowed\.$/, () => "Type de fichier refusé."],
    [/^Showing page (\d+) of (\d+)$/, (m, a, b) => `Page ${a} sur ${b}`],
    [/^(\d+) options? available\.$/, (m, n) => `${n} choix ${n === "1" ? "disponible" : "disponibles"}.`],
    [/^(.+), selected$/, (m, f) => `${f}, choisi`],
    [/^(.+) — start$/, (m, f) => `${f} — début`],
    [/^(.+) — end$/, (m, f) => `${f} — fin`],
  ];
  const ATTRS = ["aria-label", "title", "placeholder", "alt"];

  const french = (text) => {
    const t = text.trim();
    if (!t) return null;
    if (EXACT[t] !== undefined) return text.replace(t, EXACT[t]);
    for (const [re, f] of RULES) {
      const m = t.match(re);
      if (m) return text.replace(t, f(...m));
    }
    return null;
  };
  const skip = (node) => {
    const p = node.parentElement;
    return !p || p.closest("script, style, [data-kb-document]");
  };
  const fixText = (node) => {
    if (skip(node)) return;
    const f = french(node.nodeValue);
    if (f !== null && f !== node.nodeValue) node.nodeValue = f;
  };
  const fixAttrs = (el) => {
    if (el.closest && el.closest("[data-kb-document]")) return;
    for (const a of ATTRS) {
      const v = el.getAttribute && el.getAttribute(a);
      if (v) {
        const f = french(v);
        if (f !== null && f !== v) el.setAttribute(a, f);
      }
    }
  };
  const fixTree = (root) => {
    if (root.nodeType === Node.TEXT_NODE) return fixText(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    fixAttrs(root);
    root.querySelectorAll(ATTRS.map((a) => `[${a}]`).join(",")).forEach(fixAttrs);
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) fixText(n);
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "characterData") fixText(m.target);
      else if (m.type === "attributes") fixAttrs(m.target);
      else m.addedNodes.forEach(fixTree);
    }
  }).observe(document.documentElement, { subtree: true, childList: true, characterData: true,
                                         attributes: true, attributeFilter: ATTRS });
  fixTree(document.body);
})();
