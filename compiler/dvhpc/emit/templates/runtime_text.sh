# runtime_text.sh: expands the run-time text of a spec value at run time, the way
# dvhpc.model.quoting.sh_runtime writes it at compile time (tests/test_templates.py holds the two
# together). Part of every generated script that reads run-time text.

# _dvhpc_expand WHO KEY TEXT: sets _dvhpc_value to TEXT (the value of spec key KEY) with ${VAR},
# $VAR and a leading ~ (the home folder) expanded, and nothing else read: quotes, backslashes,
# backticks and a $ that starts no variable name stay as they are. A variable that is not set (or
# empty) is named, after WHO, with the KEY that needs it, and the status is 1.
_dvhpc_expand() {
  local _dvhpc_who=$1 _dvhpc_key=$2 _dvhpc_rest=$3 _dvhpc_name _dvhpc_missing=' ' _dvhpc_status=0
  # ASCII letters, digits and _ one by one: a range such as A-Z takes in other letters in some locales
  local _dvhpc_word='[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_][ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789]*'
  local _dvhpc_braced="^\\{($_dvhpc_word)\\}" _dvhpc_bare="^($_dvhpc_word)"
  _dvhpc_value=''
  if [[ $_dvhpc_rest == \~ || $_dvhpc_rest == \~/* ]]; then
    _dvhpc_rest="\${HOME}${_dvhpc_rest:1}"
  fi
  while [[ $_dvhpc_rest == *'$'* ]]; do
    _dvhpc_value+=${_dvhpc_rest%%'$'*}
    _dvhpc_rest=${_dvhpc_rest#*'$'}
    if [[ $_dvhpc_rest =~ $_dvhpc_braced || $_dvhpc_rest =~ $_dvhpc_bare ]]; then
      _dvhpc_name=${BASH_REMATCH[1]}
      _dvhpc_rest=${_dvhpc_rest:${#BASH_REMATCH[0]}}
      if [[ -n ${!_dvhpc_name:-} ]]; then
        _dvhpc_value+=${!_dvhpc_name}
      elif [[ $_dvhpc_missing != *" $_dvhpc_name "* ]]; then
        _dvhpc_missing+="$_dvhpc_name "
        printf '%s\n' "$_dvhpc_who: $_dvhpc_key needs \${$_dvhpc_name}, which is not set (or empty); set it first (e.g. in ~/.bashrc)" >&2
        _dvhpc_status=1
      fi
    else
      _dvhpc_value+='$'
    fi
  done
  _dvhpc_value+=$_dvhpc_rest
  return "$_dvhpc_status"
}
